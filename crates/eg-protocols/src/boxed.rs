//! Boxing a large value without building it on the stack first.

/// `Box::new(value)`, with the allocation made first and `value` built in it.
///
/// `Box::new(f)` and `Box::pin(f)` build `f` on the stack and copy it into the box; for
/// the future of a request, kilobytes, that copy is paid on every request. Writing the
/// value into an uninitialised box lets the compiler build it in place. A macro rather
/// than a function: a function's argument is built on the caller's stack. The result is a
/// `Box<T>`; `Box::into_pin` pins it.
///
/// ```
/// let b = eg_protocols::boxed_in_place!([7u8; 4096]);
/// assert_eq!(b.len(), 4096);
/// ```
#[macro_export]
macro_rules! boxed_in_place {
    ($value:expr) => {
        ::std::boxed::Box::write(::std::boxed::Box::new_uninit(), $value)
    };
}
