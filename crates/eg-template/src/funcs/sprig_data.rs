//! placeholder

use super::Reg;

pub(super) fn register(_r: &mut Reg) {}
