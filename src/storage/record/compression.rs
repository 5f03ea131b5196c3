//! Compression of a batch's records section, both ways, for every Kafka codec.
//!
//! - gzip: gzip framing (flate2).
//! - snappy: decodes both the Java client's xerial framing (magic `0x82 "SNAPPY" 0x00`, two
//!   version ints, then `[u32 length][raw snappy block]…`) and a plain raw snappy block;
//!   encodes raw snappy, which every client reads.
//! - lz4: the LZ4 frame format (independent 64 KiB blocks, no checksums besides the
//!   header's), as Kafka's own LZ4 streams write it.
//! - zstd: standard zstd frames.
//!
//! Decompression takes a maximum output size and fails with
//! [`StorageError::DecompressedTooLarge`] rather than allocating past it.

use std::io::{Read, Write};

use crate::storage::error::{Result, StorageError};

/// A record batch's compression codec (Kafka's attribute bits 0–2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// No compression.
    #[default]
    None,
    /// gzip (deflate with gzip framing).
    Gzip,
    /// Snappy, raw or in the Java client's xerial framing.
    Snappy,
    /// LZ4 in the LZ4 frame format.
    Lz4,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// The codec for Kafka's attribute id, if known.
    pub fn from_id(id: i16) -> Option<Compression> {
        match id {
            0 => Some(Compression::None),
            1 => Some(Compression::Gzip),
            2 => Some(Compression::Snappy),
            3 => Some(Compression::Lz4),
            4 => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// Kafka's attribute id of the codec.
    pub fn id(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }
}

/// The 8-byte magic that opens a xerial-framed snappy stream.
pub const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0x00];
/// Bytes of the xerial header: magic, version, compatible version.
const XERIAL_HEADER_LEN: usize = 16;
/// zstd level Kafka's producers use by default.
const ZSTD_LEVEL: i32 = 3;

fn codec_error(codec: Compression, e: impl std::fmt::Display) -> StorageError {
    StorageError::Compression(format!("{codec:?}: {e}"))
}

/// Compresses `data` with `codec` at its default level. `Compression::None` returns a copy.
pub fn compress(codec: Compression, data: &[u8]) -> Result<Vec<u8>> {
    compress_level(codec, data, None)
}

/// Compresses `data` with `codec` at `level` (Kafka's `compression.<codec>.level`): gzip
/// 1–9 (-1: the codec's default), zstd as zstd numbers them. lz4 and snappy have one level
/// here (lz4_flex has no high-compression mode), so `level` is ignored for them, as is a
/// level out of the codec's range.
pub fn compress_level(codec: Compression, data: &[u8], level: Option<i32>) -> Result<Vec<u8>> {
    match codec {
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => {
            let gzip_level = level
                .and_then(|l| u32::try_from(l).ok())
                .filter(|l| (1..=9).contains(l))
                .map_or_else(flate2::Compression::default, flate2::Compression::new);
            let mut enc =
                flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 2 + 64), gzip_level);
            enc.write_all(data).map_err(|e| codec_error(codec, e))?;
            enc.finish().map_err(|e| codec_error(codec, e))
        }
        Compression::Snappy => snap::raw::Encoder::new()
            .compress_vec(data)
            .map_err(|e| codec_error(codec, e)),
        Compression::Lz4 => {
            let info = lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max64KB)
                .block_mode(lz4_flex::frame::BlockMode::Independent)
                .block_checksums(false)
                .content_checksum(false);
            let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(
                info,
                Vec::with_capacity(data.len() / 2 + 64),
            );
            enc.write_all(data).map_err(|e| codec_error(codec, e))?;
            enc.finish().map_err(|e| codec_error(codec, e))
        }
        Compression::Zstd => {
            let zstd_level = level
                .filter(|l| zstd::compression_level_range().contains(l))
                .unwrap_or(ZSTD_LEVEL);
            zstd::bulk::compress(data, zstd_level).map_err(|e| codec_error(codec, e))
        }
    }
}

/// Reads all of `r`, failing once more than `max` bytes come out.
fn read_bounded<R: Read>(codec: Compression, r: R, max: usize, hint: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(hint.min(max));
    let limit = (max as u64).saturating_add(1);
    r.take(limit)
        .read_to_end(&mut out)
        .map_err(|e| codec_error(codec, e))?;
    if out.len() > max {
        return Err(StorageError::DecompressedTooLarge { max });
    }
    Ok(out)
}

/// Decompresses `data` written with `codec`, producing at most `max_decompressed` bytes.
pub fn decompress(codec: Compression, data: &[u8], max_decompressed: usize) -> Result<Vec<u8>> {
    let hint = data.len().saturating_mul(4);
    match codec {
        Compression::None => {
            if data.len() > max_decompressed {
                return Err(StorageError::DecompressedTooLarge {
                    max: max_decompressed,
                });
            }
            Ok(data.to_vec())
        }
        Compression::Gzip => read_bounded(
            codec,
            flate2::read::MultiGzDecoder::new(data),
            max_decompressed,
            hint,
        ),
        Compression::Snappy => {
            if is_xerial(data) {
                decompress_xerial(data, max_decompressed)
            } else {
                let mut out = Vec::new();
                snappy_block_into(data, &mut out, max_decompressed)?;
                Ok(out)
            }
        }
        Compression::Lz4 => read_bounded(
            codec,
            lz4_flex::frame::FrameDecoder::new(data),
            max_decompressed,
            hint,
        ),
        Compression::Zstd => {
            let mut dec = zstd::stream::read::Decoder::with_buffer(data)
                .map_err(|e| codec_error(codec, e))?;
            dec.window_log_max(zstd_window_log_max(max_decompressed))
                .map_err(|e| codec_error(codec, e))?;
            read_bounded(codec, dec, max_decompressed, hint)
        }
    }
}

/// The largest zstd window (as a power of two) accepted when at most `max` bytes may come
/// out: enough for `max`, never below 8 MiB (what ordinary compression levels use) nor
/// above zstd's own default limit of 128 MiB. This bounds the decoder's memory as well.
fn zstd_window_log_max(max: usize) -> u32 {
    let needed = usize::BITS - max.saturating_sub(1).leading_zeros();
    needed.clamp(23, 27)
}

/// Whether `data` starts with the xerial snappy header.
pub fn is_xerial(data: &[u8]) -> bool {
    data.len() >= XERIAL_HEADER_LEN && data.starts_with(&XERIAL_MAGIC)
}

/// Appends the raw snappy block `block` decompressed to `out`, keeping `out` within `max`.
fn snappy_block_into(block: &[u8], out: &mut Vec<u8>, max: usize) -> Result<()> {
    let codec = Compression::Snappy;
    let len = snap::raw::decompress_len(block).map_err(|e| codec_error(codec, e))?;
    if len > max.saturating_sub(out.len()) {
        return Err(StorageError::DecompressedTooLarge { max });
    }
    let start = out.len();
    out.resize(start + len, 0);
    let target = out.get_mut(start..).unwrap_or_default();
    let n = snap::raw::Decoder::new()
        .decompress(block, target)
        .map_err(|e| codec_error(codec, e))?;
    out.truncate(start + n);
    Ok(())
}

fn decompress_xerial(data: &[u8], max: usize) -> Result<Vec<u8>> {
    let codec = Compression::Snappy;
    let mut rest = data.get(XERIAL_HEADER_LEN..).unwrap_or_default();
    let mut out = Vec::new();
    while !rest.is_empty() {
        let Some((len_bytes, tail)) = rest.split_first_chunk::<4>() else {
            return Err(codec_error(codec, "truncated xerial block length"));
        };
        let len = u32::from_be_bytes(*len_bytes) as usize;
        if len > tail.len() {
            return Err(codec_error(
                codec,
                format!("xerial block of {len} bytes with {} left", tail.len()),
            ));
        }
        let (block, tail) = tail.split_at(len);
        snappy_block_into(block, &mut out, max)?;
        rest = tail;
    }
    Ok(out)
}

/// Frames `data` the way the Java client's snappy stream does (xerial framing with blocks
/// of at most 32 KiB). Skiff writes raw snappy; this exists to test the xerial reader.
pub fn compress_xerial(data: &[u8]) -> Result<Vec<u8>> {
    const BLOCK: usize = 32 * 1024;
    let mut out = Vec::with_capacity(data.len() / 2 + XERIAL_HEADER_LEN);
    out.extend_from_slice(&XERIAL_MAGIC);
    out.extend_from_slice(&1i32.to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    let mut enc = snap::raw::Encoder::new();
    for chunk in data.chunks(BLOCK) {
        let block = enc
            .compress_vec(chunk)
            .map_err(|e| codec_error(Compression::Snappy, e))?;
        out.extend_from_slice(&(block.len() as u32).to_be_bytes());
        out.extend_from_slice(&block);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    fn sample() -> Vec<u8> {
        (0..200_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 997) as u8)
            .collect()
    }

    #[test]
    fn levels_change_gzip_and_zstd_output_and_still_round_trip() {
        // Text-like data, where a codec's levels make a difference.
        let data: Vec<u8> = (0..20_000u32)
            .flat_map(|i| {
                format!("record {} of topic orders-{} ", i * 7 % 1000, i % 13).into_bytes()
            })
            .collect();
        for (codec, low, high, default_marker) in [
            (Compression::Gzip, 1, 9, -1),
            (Compression::Zstd, 1, 19, 99),
        ] {
            let fast = compress_level(codec, &data, Some(low)).unwrap();
            let small = compress_level(codec, &data, Some(high)).unwrap();
            assert!(
                small.len() < fast.len(),
                "{codec:?}: {} vs {}",
                small.len(),
                fast.len()
            );
            for c in [&fast, &small] {
                assert_eq!(decompress(codec, c, data.len()).unwrap(), data);
            }
            // gzip's -1, or a level out of range: the codec's default level.
            assert_eq!(
                compress_level(codec, &data, Some(default_marker)).unwrap(),
                compress(codec, &data).unwrap()
            );
        }
        // lz4 has one level here.
        assert_eq!(
            compress_level(Compression::Lz4, &data, Some(17)).unwrap(),
            compress(Compression::Lz4, &data).unwrap()
        );
    }

    #[test]
    fn every_codec_round_trips() {
        let data = sample();
        for codec in ALL {
            let c = compress(codec, &data).unwrap();
            assert_eq!(
                decompress(codec, &c, data.len()).unwrap(),
                data,
                "{codec:?}"
            );
            assert!(compress(codec, &[]).is_ok());
            let empty = compress(codec, &[]).unwrap();
            assert!(
                decompress(codec, &empty, 0).unwrap().is_empty(),
                "{codec:?}"
            );
        }
    }

    #[test]
    fn output_over_the_limit_is_refused() {
        let zeros = vec![0u8; 1 << 20];
        for codec in ALL {
            let c = compress(codec, &zeros).unwrap();
            match decompress(codec, &c, (1 << 20) - 1) {
                Err(StorageError::DecompressedTooLarge { max }) => assert_eq!(max, (1 << 20) - 1),
                other => panic!("{codec:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn xerial_snappy_decodes_and_is_bounded() {
        let data = sample();
        let framed = compress_xerial(&data).unwrap();
        assert!(is_xerial(&framed));
        assert_eq!(
            decompress(Compression::Snappy, &framed, data.len()).unwrap(),
            data
        );
        assert!(matches!(
            decompress(Compression::Snappy, &framed, 40_000),
            Err(StorageError::DecompressedTooLarge { .. })
        ));
    }

    #[test]
    fn xerial_with_truncated_block_is_an_error() {
        let framed = compress_xerial(&sample()).unwrap();
        for cut in [17, 20, 100, framed.len() - 1] {
            assert!(decompress(Compression::Snappy, &framed[..cut], 1 << 24).is_err());
        }
    }

    #[test]
    fn zstd_window_limit_follows_the_output_limit_within_bounds() {
        assert_eq!(zstd_window_log_max(0), 23);
        assert_eq!(zstd_window_log_max(1 << 20), 23);
        assert_eq!(zstd_window_log_max((1 << 25) + 1), 26);
        assert_eq!(zstd_window_log_max(usize::MAX), 27);
    }

    #[test]
    fn zstd_frame_with_a_window_above_the_limit_is_refused_below_it_decodes() {
        let data = sample();
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        enc.set_parameter(zstd::zstd_safe::CParameter::WindowLog(25))
            .unwrap();
        enc.set_parameter(zstd::zstd_safe::CParameter::EnableLongDistanceMatching(
            true,
        ))
        .unwrap();
        enc.write_all(&data).unwrap();
        let framed = enc.finish().unwrap();
        // A 32 MiB window for a 1 MiB limit is refused; a 64 MiB limit allows it.
        assert!(decompress(Compression::Zstd, &framed, 1 << 20).is_err());
        assert_eq!(
            decompress(Compression::Zstd, &framed, 64 << 20).unwrap(),
            data
        );
    }

    #[test]
    fn garbage_is_an_error_for_every_codec() {
        let garbage = [0x13u8, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x42];
        for codec in ALL.into_iter().skip(1) {
            assert!(decompress(codec, &garbage, 1 << 20).is_err(), "{codec:?}");
        }
    }
}
