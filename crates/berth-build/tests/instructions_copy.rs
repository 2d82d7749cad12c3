//! COPY and ADD end to end: globs and Docker's destination rules, `--chown` by name,
//! `--chmod`, `--link`, `--from` a stage by number, ADD's extraction of local tar archives
//! in every compression Docker reads (and COPY's leaving them alone), and ADD of an http
//! URL served on 127.0.0.1.

#![allow(clippy::unwrap_used)]

#[path = "executor_common.rs"]
mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use berth_build::executor::BuildError;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn globs_and_destination_rules() {
    let env = env();
    env.write("a.txt", "a");
    env.write("b.txt", "b");
    env.write("c.md", "c");
    env.write("dir/x", "x");
    env.write("dir/sub/y", "y");
    let dockerfile = "FROM busybox\nWORKDIR /w\n\
COPY *.txt /t/\n\
COPY dir /d\n\
COPY dir/x /renamed\n\
COPY c.md rel/\n\
COPY c.md rel-file\n\
COPY dir/s?b/* /glob/\n";
    let (result, _) = env.build(env.request(dockerfile)).await;
    let id = result.unwrap().image_id;
    let listing = env.run_in(
        &id,
        "cd / && find t d renamed w glob -type f | sort | tr '\\n' ' '",
    );
    assert_eq!(
        listing,
        "d/sub/y d/x glob/y renamed t/a.txt t/b.txt w/rel-file w/rel/c.md "
    );
    assert_eq!(env.run_in(&id, "cat /renamed /w/rel-file"), "xc");

    let (result, _) = env
        .build(env.request("FROM busybox\nCOPY a.txt b.txt /not-a-dir\n"))
        .await;
    let err = result.unwrap_err();
    assert!(matches!(err, BuildError::Source(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "When using COPY with more than one source file, the destination must be a directory and end with a /"
    );
    let (result, _) = env
        .build(env.request("FROM busybox\nCOPY *.none /x/\n"))
        .await;
    assert!(
        result
            .unwrap_err()
            .to_string()
            .contains("no source files were specified"),
        "a glob matching nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chmod_chown_by_name_and_link() {
    let env = env();
    env.write("f", "file\n");
    env.write("d/inner", "inner\n");
    let dockerfile = "FROM busybox\n\
RUN echo 'app:x:1234:1111::/:/bin/sh' >> /etc/passwd && echo 'app:x:4321:' >> /etc/group && echo 'other:x:99:' >> /etc/group\n\
COPY --chmod=640 f /mode/f\n\
COPY --chown=app f /owned/by-name\n\
COPY --chown=app:other d /owned/dir/\n\
COPY --chown=7:8 f /owned/by-number\n\
COPY --link f /linked\n";
    let (result, _) = env.build(env.request(dockerfile)).await;
    let id = result.unwrap().image_id;
    assert_eq!(env.run_in(&id, "stat -c '%a %u:%g' /mode/f"), "640 0:0\n");
    // A name without a group: dockerd looks the same name up as the group.
    assert_eq!(
        env.run_in(&id, "stat -c '%u:%g' /owned/by-name"),
        "1234:4321\n"
    );
    assert_eq!(
        env.run_in(&id, "stat -c '%u:%g' /owned/dir /owned/dir/inner"),
        "1234:99\n1234:99\n",
        "the directory made for the copy is owned like its files"
    );
    assert_eq!(env.run_in(&id, "stat -c '%u:%g' /owned/by-number"), "7:8\n");
    assert_eq!(env.run_in(&id, "cat /linked"), "file\n");

    let (result, _) = env
        .build(env.request("FROM busybox\nCOPY --chown=nobody-here f /x\n"))
        .await;
    assert!(
        result
            .unwrap_err()
            .to_string()
            .contains("can't find uid for nobody-here"),
        "an unknown user"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_from_a_stage_by_number() {
    let env = env();
    let dockerfile =
        "FROM busybox\nRUN echo first > /made\nFROM scratch\nCOPY --from=0 /made /got\n";
    let (result, _) = env.build(env.request(dockerfile)).await;
    let image = env.images.get(&result.unwrap().image_id).unwrap();
    assert_eq!(image.layers.len(), 1, "scratch plus one COPY");
}

/// A tar holding `pkg/inside.txt`.
fn tar_bytes() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_size(7);
    header.set_mode(0o600);
    header.set_mtime(1_600_000_000);
    header.set_uid(0);
    header.set_gid(0);
    builder
        .append_data(&mut header, "pkg/inside.txt", &b"inside\n"[..])
        .unwrap();
    builder.into_inner().unwrap()
}

fn compressed(kind: &str, data: &[u8]) -> Vec<u8> {
    match kind {
        "tar" => data.to_vec(),
        "tar.gz" => {
            let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            w.write_all(data).unwrap();
            w.finish().unwrap()
        }
        "tar.bz2" => {
            let mut w = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            w.write_all(data).unwrap();
            w.finish().unwrap()
        }
        "tar.xz" => {
            let mut w = liblzma::write::XzEncoder::new(Vec::new(), 1);
            w.write_all(data).unwrap();
            w.finish().unwrap()
        }
        "tar.zst" => zstd::encode_all(data, 1).unwrap(),
        other => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_extracts_local_archives_in_every_compression() {
    let env = env();
    let kinds = ["tar", "tar.gz", "tar.bz2", "tar.xz", "tar.zst"];
    let mut dockerfile = String::from("FROM busybox\n");
    for kind in kinds {
        let name = format!("pkg.{kind}");
        std::fs::write(env.context.join(&name), compressed(kind, &tar_bytes())).unwrap();
        dockerfile.push_str(&format!("ADD {name} /add/{kind}/\n"));
        dockerfile.push_str(&format!("COPY {name} /copy/\n"));
    }
    // A compressed file that is no tar is copied as it is.
    std::fs::write(
        env.context.join("notes.gz"),
        compressed("tar.gz", b"just text"),
    )
    .unwrap();
    dockerfile.push_str("ADD notes.gz /add/\n");
    let (result, _) = env.build(env.request(&dockerfile)).await;
    let id = result.unwrap_or_else(|e| panic!("{e}")).image_id;
    for kind in kinds {
        assert_eq!(
            env.run_in(
                &id,
                &format!(
                    "cat /add/{kind}/pkg/inside.txt; stat -c '%a %Y' /add/{kind}/pkg/inside.txt"
                )
            ),
            "inside\n600 1600000000\n",
            "ADD of a .{kind}"
        );
    }
    assert_eq!(
        env.run_in(&id, "ls /copy | tr '\\n' ' '"),
        "pkg.tar pkg.tar.bz2 pkg.tar.gz pkg.tar.xz pkg.tar.zst ",
        "COPY does not extract"
    );
    assert_eq!(env.run_in(&id, "ls /add/notes.gz"), "/add/notes.gz\n");
}

/// Serves `body` at any path on 127.0.0.1 with a Last-Modified header; 404 for paths
/// under `/missing`. Answers until the test process ends.
fn serve(body: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = request_line.split(' ').nth(1).unwrap_or("/");
            let response = if path.starts_with("/missing") {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
            } else {
                let mut r = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nLast-Modified: Sun, 13 Sep 2020 12:26:40 GMT\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                r.extend_from_slice(body);
                r
            };
            let _ = stream.write_all(&response);
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_http_url_names_the_file_and_sets_mode_and_mtime() {
    let env = env();
    let port = serve(b"downloaded\n");
    let dockerfile = format!(
        "FROM busybox\nADD http://127.0.0.1:{port}/files/hello.txt /dl/\nADD http://127.0.0.1:{port}/files/hello.txt /named\nADD http://127.0.0.1:{port}/pkg.tar.gz /remote/\n"
    );
    let (result, _) = env.build(env.request(&dockerfile)).await;
    let id = result.unwrap_or_else(|e| panic!("{e}")).image_id;
    assert_eq!(
        env.run_in(
            &id,
            "cat /dl/hello.txt /named; stat -c '%a %Y' /dl/hello.txt /named"
        ),
        "downloaded\ndownloaded\n600 1600000000\n600 1600000000\n"
    );
    // A remote archive is not extracted.
    assert_eq!(env.run_in(&id, "cat /remote/pkg.tar.gz"), "downloaded\n");

    let (result, _) = env
        .build(env.request(&format!(
            "FROM busybox\nADD http://127.0.0.1:{port}/missing/x /x\n"
        )))
        .await;
    let err = result.unwrap_err().to_string();
    assert!(err.contains("404"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_outside_the_context_are_refused() {
    let env = env();
    std::fs::write(env.dir.path().join("outside.txt"), "secret").unwrap();
    for dockerfile in [
        "FROM busybox\nCOPY ../outside.txt /x\n",
        "FROM busybox\nADD ../outside.txt /x\n",
        "FROM busybox\nCOPY sub/../../outside.txt /x\n",
    ] {
        let (result, _) = env.build(env.request(dockerfile)).await;
        let err = result.unwrap_err();
        assert!(matches!(err, BuildError::Source(_)), "{err:?}");
        assert!(
            err.to_string()
                .contains("forbidden path outside the build context"),
            "{err}"
        );
    }
    // An absolute source is relative to the context, not the host.
    env.write("etc/passwd", "from the context\n");
    let (result, _) = env
        .build(env.request("FROM busybox\nCOPY /etc/passwd /copied\n"))
        .await;
    let id = result.unwrap().image_id;
    assert_eq!(env.run_in(&id, "cat /copied"), "from the context\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_checksum_is_verified() {
    let env = env();
    let port = serve(b"checked\n");
    let good = format!("sha256:{}", sha256_hex(b"checked\n"));
    let dockerfile =
        format!("FROM busybox\nADD --checksum={good} http://127.0.0.1:{port}/c.txt /c.txt\n");
    let (result, _) = env.build(env.request(&dockerfile)).await;
    let id = result.unwrap_or_else(|e| panic!("{e}")).image_id;
    assert_eq!(env.run_in(&id, "cat /c.txt"), "checked\n");

    let bad = format!("sha256:{}", "0".repeat(64));
    let (result, _) = env
        .build(env.request(&format!(
            "FROM busybox\nADD --checksum={bad} http://127.0.0.1:{port}/c.txt /c.txt\n"
        )))
        .await;
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("digest mismatch") && err.contains(&good),
        "{err}"
    );

    env.write("local.txt", "local\n");
    let (result, _) = env
        .build(env.request(&format!(
            "FROM busybox\nADD --checksum={good} local.txt /l\n"
        )))
        .await;
    let err = result.unwrap_err().to_string();
    assert!(err.contains("only be given for http(s) sources"), "{err}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    berth_image::digest::Digest::sha256_of(bytes)
        .hex()
        .to_string()
}
