//! What a checkpoint costs to read, from its safetensors headers alone, and the finiteness check
//! every tensor passes on its way in and out.
//!
//! # The safetensors layout
//!
//! A file is `N` (8 bytes, little-endian u64), then `N` bytes of JSON mapping each tensor's
//! name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets into the data that
//! follows the header; an optional `"__metadata__"` entry holds strings), then the data. So the
//! first `8 + N` bytes say how large every tensor is and how much memory loading it takes,
//! before any of it is read; a file that is not a regular file (`/dev/zero`) or whose header
//! does not match its length is refused at that point.
//!
//! # Example
//!
//! ```
//! use unmask_nn::checkpoint::header::parse_header;
//! let json = br#"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#;
//! let mut file = (json.len() as u64).to_le_bytes().to_vec();
//! file.extend_from_slice(json);
//! file.extend_from_slice(&[0u8; 24]);
//! let h = parse_header(&file, file.len() as u64)?;
//! assert_eq!((h.parameters, h.data_bytes), (6, 24));
//! # Ok::<(), String>(())
//! ```

use std::io::Read;
use std::path::Path;

use candle_core::{DType, Tensor};

use crate::NnError;

/// The largest header this reader accepts (safetensors' own limit is 100 MB).
pub const MAX_HEADER: u64 = 100_000_000;

/// A safetensors file's header, checked against the file's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Tensors: (name, dtype as written, shape).
    pub tensors: Vec<(String, String, Vec<usize>)>,
    /// Elements over all tensors.
    pub parameters: u64,
    /// Bytes of tensor data.
    pub data_bytes: u64,
    /// The file's length, header included (the bytes a reader takes).
    pub file_len: u64,
}

fn dtype_size(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E4M3" | "F8_E5M2" => 1,
        "I16" | "U16" | "F16" | "BF16" => 2,
        "I32" | "U32" | "F32" => 4,
        "I64" | "U64" | "F64" => 8,
        _ => return None,
    })
}

/// Parses the header at the start of `prefix` (the file's first bytes: at least 8 + N of them)
/// for a file of `file_len` bytes. Never panics, whatever the bytes.
///
/// # Errors
///
/// A message naming what does not hold: a header length beyond the file or [`MAX_HEADER`],
/// JSON that is not a tensor table, an unknown dtype, offsets that do not match the shape or
/// leave gaps, data that does not end where the file does.
pub fn parse_header(prefix: &[u8], file_len: u64) -> Result<Header, String> {
    let n = prefix
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        .ok_or_else(|| format!("{file_len} bytes is too short for a safetensors file"))?;
    if n > MAX_HEADER || n.saturating_add(8) > file_len {
        return Err(format!(
            "its header claims {n} bytes, beyond the file's {file_len} or the {MAX_HEADER}-byte limit"
        ));
    }
    let body = prefix
        .get(8..8 + n as usize)
        .ok_or_else(|| "the header was not read whole".to_string())?;
    let doc: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)
        .map_err(|e| format!("its header is not a JSON table ({e})"))?;
    let data_len = file_len - 8 - n;
    let mut spans = Vec::new();
    let mut tensors = Vec::new();
    let mut parameters = 0u64;
    for (name, entry) in &doc {
        if name == "__metadata__" {
            continue;
        }
        let dtype = entry
            .get("dtype")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| format!("tensor {name:?} has no \"dtype\""))?;
        let size =
            dtype_size(dtype).ok_or_else(|| format!("tensor {name:?}: unknown dtype {dtype:?}"))?;
        let shape = entry
            .get("shape")
            .and_then(serde_json::Value::as_array)
            .and_then(|a| {
                a.iter()
                    .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
                    .collect::<Option<Vec<usize>>>()
            })
            .ok_or_else(|| format!("tensor {name:?}: \"shape\" is not a list of sizes"))?;
        let elements = shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
            .ok_or_else(|| format!("tensor {name:?}: shape {shape:?} overflows"))?;
        let offsets = entry
            .get("data_offsets")
            .and_then(serde_json::Value::as_array)
            .filter(|a| a.len() == 2)
            .and_then(|a| Some((a[0].as_u64()?, a[1].as_u64()?)))
            .ok_or_else(|| format!("tensor {name:?}: \"data_offsets\" is not [begin, end]"))?;
        let bytes = elements
            .checked_mul(size)
            .ok_or_else(|| format!("tensor {name:?}: shape {shape:?} overflows"))?;
        if offsets.0 > offsets.1 || offsets.1 - offsets.0 != bytes || offsets.1 > data_len {
            return Err(format!(
                "tensor {name:?}: data_offsets {:?} do not hold {shape:?} {dtype} in {data_len} bytes of data",
                [offsets.0, offsets.1]
            ));
        }
        spans.push(offsets);
        parameters += elements;
        tensors.push((name.clone(), dtype.to_string(), shape));
    }
    spans.sort_unstable();
    let mut end = 0;
    for (a, b) in spans {
        if a != end {
            return Err(format!(
                "its tensors' data overlap or leave a gap at byte {end}"
            ));
        }
        end = b;
    }
    if end != data_len {
        return Err(format!(
            "its tensors hold {end} bytes of data, but the file has {data_len} after the header"
        ));
    }
    Ok(Header {
        tensors,
        parameters,
        data_bytes: end,
        file_len,
    })
}

/// Reads and checks the header of the safetensors file at `path` (8 + N bytes, never more).
///
/// # Errors
///
/// [`NnError::File`] for a path that is not a regular file or a header [`parse_header`]
/// refuses.
pub fn read_header(path: &Path) -> Result<Header, NnError> {
    let fail = |msg: String| NnError::File {
        path: path.to_path_buf(),
        msg,
    };
    let mut file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let meta = file.metadata().map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(fail("is not a regular file".into()));
    }
    let len = meta.len();
    let mut head = [0u8; 8];
    file.read_exact(&mut head).map_err(|_| {
        fail(format!(
            "not a readable safetensors file ({len} bytes is too short)"
        ))
    })?;
    let n = u64::from_le_bytes(head);
    if n > MAX_HEADER || n.saturating_add(8) > len {
        return Err(fail(format!(
            "not a readable safetensors file (its header claims {n} bytes, beyond the file's {len})"
        )));
    }
    let mut prefix = head.to_vec();
    prefix.resize(8 + n as usize, 0);
    file.read_exact(&mut prefix[8..])
        .map_err(|e| fail(e.to_string()))?;
    parse_header(&prefix, len).map_err(|m| fail(format!("not a readable safetensors file ({m})")))
}

/// Refuses a tensor holding a NaN or an infinity, naming it and the first bad element's index.
///
/// # Errors
///
/// [`NnError::NonFinite`]; candle's when the tensor cannot be read.
pub fn check_finite(name: &str, t: &Tensor) -> Result<(), NnError> {
    let values: Vec<f32> = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        let mut index = vec![0; t.dims().len()];
        let mut rest = k;
        for (slot, &d) in index.iter_mut().zip(t.dims()).rev() {
            *slot = rest % d.max(1);
            rest /= d.max(1);
        }
        return Err(NnError::NonFinite {
            tensor: name.to_string(),
            index,
            value: values[k],
        });
    }
    Ok(())
}
