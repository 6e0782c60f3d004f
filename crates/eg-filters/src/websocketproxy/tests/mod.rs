//! WebSocketProxy tests.
