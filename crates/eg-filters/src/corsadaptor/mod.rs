//! The `CORSAdaptor` filter: CORS preflight and simple requests.
