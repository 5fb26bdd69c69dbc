//! The process's edges: its two output streams, which nothing can make fail
//! (`console`), the signals that stop a run (`signals`), the processes a run
//! leaves behind (`children`), and the memory it may plan to use (`memory`).

pub mod children;
pub mod console;
pub mod memory;
pub mod signals;
