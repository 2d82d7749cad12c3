//! The DNS server loop: UDP and TCP on one address, local answers or forwarding.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

use super::records::DnsRecords;
use crate::error::{NetError, Result};

/// How long an upstream resolver gets to answer a forwarded query.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3);
/// TTL of local answers: short, since containers come and go (Docker uses 600; 10 is safer).
const LOCAL_TTL: u32 = 10;

/// A running embedded DNS server; stops when dropped.
#[derive(Debug)]
pub struct DnsServer {
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

struct Ctx {
    network: String,
    records: DnsRecords,
    upstreams: Vec<SocketAddr>,
}

impl DnsServer {
    /// Binds UDP and TCP on `addr` and serves `network`'s names from `records`, forwarding the
    /// rest to `upstreams` in order. Must be called within a tokio runtime.
    pub async fn start(
        addr: SocketAddr,
        network: &str,
        records: DnsRecords,
        upstreams: Vec<SocketAddr>,
    ) -> Result<Self> {
        let bind_err = |source| NetError::DnsBind {
            network: network.to_string(),
            addr,
            source,
        };
        let udp = UdpSocket::bind(addr).await.map_err(bind_err)?;
        let tcp = TcpListener::bind(addr).await.map_err(bind_err)?;
        let ctx = Arc::new(Ctx {
            network: network.to_string(),
            records,
            upstreams,
        });
        let udp = Arc::new(udp);
        let udp_task = {
            let ctx = ctx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                loop {
                    let Ok((n, peer)) = udp.recv_from(&mut buf).await else {
                        continue;
                    };
                    let query = buf[..n].to_vec();
                    let (ctx, udp) = (ctx.clone(), udp.clone());
                    tokio::spawn(async move {
                        if let Some(reply) = answer(&ctx, &query).await {
                            let _ = udp.send_to(&reply, peer).await;
                        }
                    });
                }
            })
        };
        let tcp_task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = tcp.accept().await else {
                    continue;
                };
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    let _ = serve_tcp(&ctx, stream).await;
                });
            }
        });
        Ok(Self {
            addr,
            tasks: vec![udp_task, tcp_task],
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn serve_tcp(ctx: &Ctx, mut stream: TcpStream) -> std::io::Result<()> {
    loop {
        let len = match stream.read_u16().await {
            Ok(len) => len as usize,
            Err(_) => return Ok(()),
        };
        let mut query = vec![0u8; len];
        stream.read_exact(&mut query).await?;
        if let Some(reply) = answer(ctx, &query).await {
            let len = u16::try_from(reply.len()).unwrap_or(u16::MAX);
            stream.write_u16(len).await?;
            stream.write_all(&reply[..len as usize]).await?;
        }
    }
}

/// The reply to one query: local for known names, else forwarded; None for garbage.
async fn answer(ctx: &Ctx, query: &[u8]) -> Option<Vec<u8>> {
    let request = Message::from_vec(query).ok()?;
    if request.message_type() != MessageType::Query {
        return None;
    }
    let question = request.queries().first()?.clone();
    let name = question.name().to_ascii();
    if let Some(ips) = ctx.records.lookup(&ctx.network, &name) {
        let mut reply = Message::new();
        reply
            .set_id(request.id())
            .set_message_type(MessageType::Response)
            .set_op_code(request.op_code())
            .set_recursion_desired(request.recursion_desired())
            .set_recursion_available(true)
            .set_authoritative(true)
            .set_response_code(ResponseCode::NoError)
            .add_query(question.clone());
        if question.query_type() == RecordType::A {
            for ip in ips {
                reply.add_answer(Record::from_rdata(
                    question.name().clone(),
                    LOCAL_TTL,
                    RData::A(A(ip)),
                ));
            }
        }
        return reply.to_vec().ok();
    }
    match forward(&ctx.upstreams, query).await {
        Some(reply) => Some(reply),
        None => {
            let mut fail =
                Message::error_msg(request.id(), request.op_code(), ResponseCode::ServFail);
            fail.add_query(question);
            fail.to_vec().ok()
        }
    }
}

/// Sends the query to each upstream in turn over UDP; the first answer wins.
async fn forward(upstreams: &[SocketAddr], query: &[u8]) -> Option<Vec<u8>> {
    for upstream in upstreams {
        let local: SocketAddr = match upstream.ip() {
            IpAddr::V4(_) => ([0, 0, 0, 0], 0).into(),
            IpAddr::V6(_) => ([0u16; 8], 0).into(),
        };
        let Ok(sock) = UdpSocket::bind(local).await else {
            continue;
        };
        if sock.send_to(query, upstream).await.is_err() {
            continue;
        }
        let mut buf = vec![0u8; 4096];
        if let Ok(Ok((n, _))) =
            tokio::time::timeout(UPSTREAM_TIMEOUT, sock.recv_from(&mut buf)).await
        {
            buf.truncate(n);
            return Some(buf);
        }
    }
    None
}
