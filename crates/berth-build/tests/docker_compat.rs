//! Differential test against Docker's legacy builder (dockerd 20.10 with
//! `DOCKER_BUILDKIT=0`): for small `FROM scratch` Dockerfiles without RUN, Docker and this
//! crate must agree on accepting or rejecting them, and on the image configuration.
//!
//! A private dockerd is started (`berth-testkit`: own socket, data root, exec root, pid
//! file; no bridge, no iptables, vfs storage) and stopped at the end with its containerd.
//! Skipped when not root or when dockerd or docker is missing.
//!
//! Known differences kept out of the cases: dockerd 20.10 has no heredocs and only the
//! `:-`/`:+` substitution modifiers (this crate also has `-`, `+`, `?`, as current Docker).

// Test helpers outside #[test] functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use berth_build::args::{Evaluator, ImageConfig, Platforms};
use berth_testkit::PrivateDockerd;

/// A private dockerd whose CLI uses the legacy builder; `None` (saying why) when not root
/// or when dockerd or docker is missing.
fn start_dockerd() -> Option<PrivateDockerd> {
    PrivateDockerd::builder()
        .prefix("berth-build-dockerd")
        .cli_env("DOCKER_BUILDKIT", "0")
        .start()
}

/// Builds `dockerfile`; the image's `.Config` as JSON, or Docker's error text.
fn build(
    docker: &PrivateDockerd,
    dockerfile: &str,
    build_args: &[(&str, &str)],
) -> Result<serde_json::Value, String> {
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("Dockerfile"), dockerfile).unwrap();
    let mut args = vec!["build".to_string(), "-q".to_string()];
    for (k, v) in build_args {
        args.push("--build-arg".into());
        args.push(format!("{k}={v}"));
    }
    args.push(ctx.path().display().to_string());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = docker.docker(&refs);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let out = docker.docker(&["image", "inspect", "--format", "{{json .Config}}", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout).unwrap())
}

/// What this crate computes for the same Dockerfile, in Docker's JSON shape.
fn ours(dockerfile: &str, build_args: &[(&str, &str)]) -> Result<serde_json::Value, String> {
    let df = berth_build::parse(dockerfile).map_err(|e| e.to_string())?;
    let args = build_args
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ev = Evaluator::new(&df, args, Platforms::default());
    let out = ev
        .evaluate(None, &|_| ImageConfig::default())
        .map_err(|e| e.to_string())?;
    let c = out.last().unwrap().config.clone();
    let set = |s: &std::collections::BTreeSet<String>| {
        (!s.is_empty()).then(|| {
            s.iter()
                .map(|k| (k.clone(), serde_json::json!({})))
                .collect::<serde_json::Map<_, _>>()
        })
    };
    Ok(serde_json::json!({
        "Env": c.env,
        "Labels": if c.labels.is_empty() { None } else { Some(&c.labels) },
        "WorkingDir": c.working_dir,
        "Cmd": c.cmd,
        "Entrypoint": c.entrypoint,
        "ExposedPorts": set(&c.exposed_ports),
        "User": c.user,
        "Volumes": set(&c.volumes),
        "StopSignal": c.stop_signal,
        "OnBuild": if c.on_build.is_empty() { None } else { Some(&c.on_build) },
        "Shell": c.shell,
        "Healthcheck": c.healthcheck.as_ref().map(healthcheck_json),
    }))
}

/// Docker's `Healthcheck` JSON: zero durations and retries are left out.
fn healthcheck_json(h: &berth_build::instructions::Healthcheck) -> serde_json::Value {
    use berth_build::instructions::Healthcheck;
    match h {
        Healthcheck::None => serde_json::json!({ "Test": ["NONE"] }),
        Healthcheck::Cmd {
            test,
            interval,
            timeout,
            start_period,
            retries,
            ..
        } => {
            let mut m = serde_json::Map::new();
            m.insert("Test".into(), serde_json::json!(test));
            for (k, v) in [
                ("Interval", interval),
                ("Timeout", timeout),
                ("StartPeriod", start_period),
            ] {
                if *v != 0 {
                    m.insert(k.into(), serde_json::json!(v));
                }
            }
            if *retries != 0 {
                m.insert("Retries".into(), serde_json::json!(retries));
            }
            serde_json::Value::Object(m)
        }
    }
}

/// Docker's config reduced to the compared fields. The legacy builder gives a scratch
/// image a default PATH; this crate leaves PATH to the executor, so it is dropped here
/// when the Dockerfile never mentions PATH.
fn docker_view(config: &serde_json::Value, dockerfile: &str) -> serde_json::Value {
    let mut env: Vec<String> = config["Env"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if !dockerfile.contains("PATH") {
        env.retain(|e| !e.starts_with("PATH="));
    }
    let stop = config.get("StopSignal").cloned().filter(|v| !v.is_null());
    serde_json::json!({
        "Env": env,
        "Labels": config["Labels"].clone(),
        // Docker leaves empty strings out of the JSON.
        "WorkingDir": config["WorkingDir"].as_str().unwrap_or(""),
        "Cmd": config["Cmd"].clone(),
        "Entrypoint": config["Entrypoint"].clone(),
        "ExposedPorts": config.get("ExposedPorts").cloned().unwrap_or(serde_json::Value::Null),
        "User": config["User"].as_str().unwrap_or(""),
        "Volumes": config["Volumes"].clone(),
        "StopSignal": stop,
        "OnBuild": config["OnBuild"].clone(),
        "Shell": config.get("Shell").cloned().unwrap_or(serde_json::Value::Null),
        "Healthcheck": config.get("Healthcheck").cloned().unwrap_or(serde_json::Value::Null),
    })
}

const ACCEPTED: &[(&str, &[(&str, &str)])] = &[
    ("FROM scratch\nENV a b c\nENV x=\"1 2\" y=$a\nENV z=${undefined:-def} w=${a:+alt} v=${a:-no}\nENV e=\\$a q='$a' r=\"$a\"\n", &[]),
    ("FROM scratch\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n", &[]),
    ("FROM scratch\nLABEL \"com.example.vendor\"=\"ACME\" version=1.0 multi=\"a \\\n b\"\nLABEL legacy form with spaces\n", &[]),
    ("FROM scratch\nENV D=/srv\nWORKDIR $D\nWORKDIR app/../www/\nUSER ${U:-nobody}:grp\nEXPOSE 80 53/udp 7000-7001\nVOLUME /data ${D}/v\nSTOPSIGNAL SIGINT\n", &[]),
    ("FROM scratch\nVOLUME [\"/a\", \"/b c\"]\nCMD [\"run\", \"$D\"]\nENTRYPOINT ['not', 'json']\n", &[]),
    ("FROM scratch\nSHELL [\"/bin/bash\", \"-xc\"]\nCMD echo $HOME\n", &[]),
    ("FROM scratch AS a\nCMD [\"x\"]\nENV from_a=1\nFROM a\nENTRYPOINT [\"e\"]\n", &[]),
    ("FROM scratch\nCMD [\"x\"]\nENTRYPOINT e \"quoted\"\n", &[]),
    ("ARG G=g\nARG UNUSED_GLOBAL\nFROM scratch\nARG G\nARG L=l\nARG N\nENV g=$G l=$L n=${N:-unset}\n", &[("L", "given")]),
    ("ARG G=g\nFROM scratch\nENV g=${G:-not-visible}\n", &[("G", "x")]),
    ("FROM scratch\nARG X=arg\nENV X=env\nARG X=again\nENV got=$X\n", &[("X", "build")]),
    ("# escape=`\nFROM scratch\nENV p=c:\\dir\\sub q=`$x r=a`\nb=c\nLABEL l=\"x`\"y\"\n", &[]),
    ("# directive=unknown\n# escape=`\nFROM scratch\nENV p=a\\\\\n", &[]),
    ("FROM scratch\nENV p=a\\\\\n", &[]),
    ("FROM scratch\nENV p=a\\\\\nENV q=1\n", &[]),
    ("FROM scratch\nENV a=1 \\\n# comment inside\n\n    b=2\n", &[]),
    ("from scratch\nenv lower=case\nWorkDir /x\n", &[]),
    ("FROM scratch\nENV a=A b=\nENV c=${a:+${b:-x}} d=\"'$a'\" e=\\\"q f=$$ g=${a}b h=x\\ y i=\"a\\nb\" j=$1\n", &[]),
    ("FROM scratch\nENV a=1\nLABEL \"$a\"=$a x=${a:-'q r'} 'single $a'=\"double $a\"\n", &[]),
    ("FROM scratch\nWORKDIR a\nWORKDIR b/./c/..\nWORKDIR /abs//d/\n", &[]),
    ("FROM scratch\nONBUILD RUN echo $HOME\nONBUILD   ADD . /app\nSHELL [\"sh\", \"-e\", \"-c\"]\nHEALTHCHECK --interval=5s --retries=2 CMD [\"check\"]\n", &[]),
    ("FROM scratch\nHEALTHCHECK CMD curl -f http://x/ || exit 1\nUSER 1000:1000\nEXPOSE 8080/tcp 9000/UDP\n", &[]),
    ("FROM scratch\nCMD [\"a\"] trailing text\nENTRYPOINT []\n", &[]),
    ("FROM scratch\nSTOPSIGNAL sigusr1\n", &[]),
    ("FROM scratch\nSTOPSIGNAL RTMIN+3\n", &[]),
    ("FROM scratch\nSTOPSIGNAL 9\nVOLUME [\"/x\"]\nVOLUME /y\n", &[]),
];

const REJECTED: &[&str] = &[
    "FROM scratch\nRUUN x\n",
    "FROM scratch\nCOPY --chwn=1 a b\n",
    "FROM scratch\nENV a\n",
    "FROM scratch\nENV a=b c\n",
    "FROM a b\n",
    "FROM scratch AS 1x\n",
    "FROM scratch\nHEALTHCHECK NONE x\n",
    "FROM scratch\nHEALTHCHECK FOO x\n",
    "FROM scratch\nONBUILD ONBUILD ENV a=b\n",
    "FROM scratch\nONBUILD FROM x\n",
    "FROM scratch\nSHELL sh -c\n",
    "# escape=x\nFROM scratch\n",
    "FROM scratch\nWORKDIR ${x\n",
    "FROM scratch\nENV a=${:-x}\n",
    "FROM scratch\nCMD [\"a\", 1]\n",
    "FROM scratch\nLABEL =x\n",
    "FROM scratch\nUSER\n",
    "FROM scratch\nCOPY a\n",
    "FROM scratch\nEXPOSE 80/xyz\n",
    "ENV a=b\nFROM scratch\n",
    "FROM scratch\nENV a=\"open\n",
    "FROM scratch\nLABEL a='open\n",
    "FROM scratch\nHEALTHCHECK --interval=1x CMD a\n",
    "FROM scratch\nHEALTHCHECK --timeout=5s NONE x\n",
    "FROM scratch\nVOLUME [\"\"]\n",
    "FROM scratch\nCOPY --from a b\n",
    "FROM scratch\nSTOPSIGNAL BOGUS\n",
    "FROM scratch\nSTOPSIGNAL 0\n",
];

#[test]
fn legacy_builder_agrees() {
    let Some(docker) = start_dockerd() else {
        return;
    };
    let mut failures = Vec::new();
    for (dockerfile, build_args) in ACCEPTED {
        let theirs = build(&docker, dockerfile, build_args).map(|c| docker_view(&c, dockerfile));
        let mine = ours(dockerfile, build_args);
        if theirs != mine {
            failures.push(format!(
                "{dockerfile}\n docker: {theirs:?}\n berth:  {mine:?}"
            ));
        }
    }
    for dockerfile in REJECTED {
        let theirs = build(&docker, dockerfile, &[]);
        let mine = ours(dockerfile, &[]);
        if theirs.is_ok() || mine.is_ok() {
            failures.push(format!(
                "{dockerfile}\n docker: {theirs:?}\n berth:  {mine:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
