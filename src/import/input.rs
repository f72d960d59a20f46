//! Model inputs for the ONNX importer: an `.npy` array as the model takes it, or a photo
//! prepared by [`super::preprocess`].

use std::path::Path;

use super::npy;
use super::preprocess::{self, ImageOptions};
use crate::error::Result;

/// One input tensor (one run of the model).
#[derive(Clone, Debug, PartialEq)]
pub struct InputTensor {
    /// Where it came from (for messages and reports).
    pub name: String,
    /// Shape, e.g. `[1, 3, 224, 224]`.
    pub shape: Vec<usize>,
    /// Values in C order.
    pub data: Vec<f32>,
}

impl InputTensor {
    /// A tensor from a `.npy` file (any float or integer dtype; converted to f32).
    pub fn from_npy(path: &Path) -> Result<InputTensor> {
        let a = npy::read(path)?;
        Ok(InputTensor {
            name: path.display().to_string(),
            shape: a.shape.clone(),
            data: a.to_f32(),
        })
    }

    /// A tensor from a PNG or JPEG photo, prepared as `opts` says.
    pub fn from_image(path: &Path, opts: &ImageOptions) -> Result<InputTensor> {
        let (shape, data) = preprocess::prepare(path, opts)?;
        Ok(InputTensor {
            name: path.display().to_string(),
            shape,
            data,
        })
    }
}
