mod execution;
mod generations;
mod validation;
