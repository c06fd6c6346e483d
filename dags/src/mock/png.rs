//! The images the mock serves: a minimal valid PNG grown to any size, stamped per path, and
//! an endless-looking one generated on the fly.

use bytes::Bytes;

/// A valid 1×1 RGBA PNG: signature, IHDR, IDAT, IEND.
pub(super) const MINIMAL_PNG: [u8; 67] = [
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, // signature
    0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
    0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, // IHDR
    0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05,
    0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, // IDAT
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82, // IEND
];

/// `png` (from [`png_of_size`]) with `stamp` written at the start of its padding chunk, CRC
/// updated: a distinct, still valid image per stamp. Too small a PNG is returned as it is.
pub(super) fn stamped(png: &Bytes, stamp: &str) -> Bytes {
    let start = MINIMAL_PNG.len() - 12; // where the padding chunk begins
    let data = start + 8;
    if png.len() < data + 4 + 12 {
        return png.clone();
    }
    let pad_len = png.len() - data - 4 - 12;
    let n = stamp.len().min(pad_len);
    let mut out = png.to_vec();
    out[data..data + n].copy_from_slice(&stamp.as_bytes()[..n]);
    let crc = crc32fast::hash(&out[start + 4..data + pad_len]);
    out[data + pad_len..data + pad_len + 4].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(out)
}

/// The minimal PNG grown to `size` bytes with a private ancillary chunk (`ruSt`) before IEND,
/// which decoders skip, so the result is still a valid image.
pub(super) fn png_of_size(size: usize) -> Bytes {
    const CHUNK_OVERHEAD: usize = 12; // length, type, CRC
    let (head, iend) = MINIMAL_PNG.split_at(MINIMAL_PNG.len() - 12);
    let Some(pad) = size.checked_sub(MINIMAL_PNG.len() + CHUNK_OVERHEAD) else {
        return Bytes::from_static(&MINIMAL_PNG);
    };
    // PNG chunk lengths are 31-bit; the padding never needs more than that.
    let pad_len = u32::try_from(pad)
        .unwrap_or(i32::MAX as u32)
        .min(i32::MAX as u32);
    let mut chunk = Vec::with_capacity(size);
    chunk.extend_from_slice(head);
    chunk.extend_from_slice(&pad_len.to_be_bytes());
    let typed = chunk.len();
    chunk.extend_from_slice(b"ruSt");
    chunk.resize(chunk.len() + pad_len as usize, 0);
    let crc = crc32fast::hash(&chunk[typed..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    chunk.extend_from_slice(iend);
    Bytes::from(chunk)
}

/// `total` bytes, a PNG header then zeros, produced 64 KiB at a time.
pub(super) fn huge_stream(
    total: u64,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    const CHUNK: usize = 64 * 1024;
    let zeros = Bytes::from(vec![0u8; CHUNK]);
    let header = Bytes::from_static(&MINIMAL_PNG[..MINIMAL_PNG.len() - 12]);
    futures::stream::unfold(0u64, move |sent| {
        let (zeros, header) = (zeros.clone(), header.clone());
        async move {
            let left = total.checked_sub(sent).filter(|&n| n > 0)?;
            let source = if sent == 0 { header } else { zeros };
            let len = usize::try_from(left).map_or(source.len(), |l| l.min(source.len()));
            Some((Ok(source.slice(..len)), sent + len as u64))
        }
    })
}
