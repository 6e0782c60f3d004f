//! The `StatusInLocalController` kind: writes the status of all running objects to a local file.
