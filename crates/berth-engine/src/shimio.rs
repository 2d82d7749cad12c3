//! Reading the frames a shim sends on attach and exec streams (see
//! `berth_shim::protocol`): `[kind, 0, 0, 0, len u32 BE]` + payload.

use tokio::io::{AsyncRead, AsyncReadExt};

/// One frame, or None at a clean end of stream.
pub async fn read_frame(
    reader: &mut (impl AsyncRead + Unpin),
) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0u8; 8];
    match reader.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let mut payload = vec![0u8; len];
    reader.read_exact(&mut payload).await?;
    Ok(Some((header[0], payload)))
}

/// The exit code carried by a `FRAME_EXIT` payload.
pub fn exit_code(payload: &[u8]) -> Option<i32> {
    let bytes: [u8; 4] = payload.get(..4)?.try_into().ok()?;
    Some(i32::from_be_bytes(bytes))
}
