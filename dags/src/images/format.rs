//! Image formats: recognised by their magic bytes, then checked by decoding their header.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::FetchError;

/// Bytes [`sniff_image`] needs to recognise every supported format.
pub const SNIFF_LEN: usize = 12;

/// An image file format recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// Portable Network Graphics.
    Png,
    /// JPEG (JFIF, Exif, …).
    Jpeg,
    /// GIF, versions 87a and 89a.
    Gif,
    /// WebP in a RIFF container.
    WebP,
}

impl ImageFormat {
    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Gif => "gif",
            Self::WebP => "webp",
        }
    }
}

/// Recognises an image by its first bytes ([`SNIFF_LEN`] are enough for every format).
pub fn sniff_image(head: &[u8]) -> Option<ImageFormat> {
    match head {
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(ImageFormat::Png),
        [0xFF, 0xD8, 0xFF, ..] => Some(ImageFormat::Jpeg),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(ImageFormat::Gif),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// Decodes the image's header (dimensions and all) from the file: magic bytes followed by
/// garbage, or a header cut short, fail here.
pub(crate) async fn check_header(
    path: &Path,
    format: ImageFormat,
) -> Result<(u32, u32), FetchError> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let file = std::io::BufReader::new(std::fs::File::open(&path)?);
        decode_header(file, format)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// [`check_header`] for a body in memory.
pub(crate) fn check_header_bytes(
    bytes: &[u8],
    format: ImageFormat,
) -> Result<(u32, u32), FetchError> {
    decode_header(std::io::Cursor::new(bytes), format)
}

fn decode_header<R: std::io::BufRead + std::io::Seek>(
    reader: R,
    format: ImageFormat,
) -> Result<(u32, u32), FetchError> {
    let reader = image::ImageReader::with_format(
        reader,
        match format {
            ImageFormat::Png => image::ImageFormat::Png,
            ImageFormat::Jpeg => image::ImageFormat::Jpeg,
            ImageFormat::Gif => image::ImageFormat::Gif,
            ImageFormat::WebP => image::ImageFormat::WebP,
        },
    );
    match reader.into_dimensions() {
        Ok((0, _) | (_, 0)) => Err(FetchError::Corrupt {
            format,
            reason: "zero width or height".into(),
        }),
        Ok(dims) => Ok(dims),
        Err(image::ImageError::IoError(e)) => Err(FetchError::Io(e)),
        Err(e) => Err(FetchError::Corrupt {
            format,
            reason: e.to_string(),
        }),
    }
}
