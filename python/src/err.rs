//! Library errors as Python exceptions: `mltq.Error`, a `ValueError` whose message is
//! the CLI's `error:` line without the `error: ` prefix.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::PyErr;

create_exception!(
    mltq,
    Error,
    PyValueError,
    "Bad input (a model, an arch, a sweep file, an argument): the message is the `mltq` CLI's `error:` line."
);

/// A library error.
pub fn from(e: mltq::Error) -> PyErr {
    Error::new_err(e.to_string())
}

/// An error of our own making, worded like the library's.
pub fn value(msg: impl Into<String>) -> PyErr {
    Error::new_err(msg.into())
}
