//! Downloading launch images safely: one file per distinct URL, never a partial or foreign
//! file under a final name.
//!
//! The primitives, shared with the [`fetcher`](crate::fetcher):
//!
//! * [`file_names`] turns URLs into file names that cannot leave the target directory and do
//!   not collide with each other;
//! * [`sniff_image`] recognises an image by its magic bytes ([`ImageFormat`]), whose header is
//!   then decoded;
//! * each body streams to a hidden `.part` file in the same directory, renamed into place only
//!   when complete, within a size cap and an optional [`Bandwidth`] cap;
//! * [`FetchError`] says why an image was not fetched, classified.
//!
//! The book's downloader, on top of them: [`fetch_images`] downloads the URLs concurrently and
//! [`PictureRecord`] is a serializable summary of one download, for a task to return.

mod book;
mod download;
mod error;
mod format;
mod names;
mod part;

pub use book::{FetchOptions, ImageFile, ImageOutcome, PictureRecord, fetch_images};
pub use download::Bandwidth;
pub(crate) use download::{Body, Fetched, Limits, fetch_to_part, header, hex};
pub use error::FetchError;
pub use format::{ImageFormat, SNIFF_LEN, sniff_image};
pub(crate) use format::{check_header, check_header_bytes};
pub use names::{MAX_NAME_LEN, NameError, file_names};
pub(crate) use part::prepare_dir;

#[cfg(test)]
mod tests;
