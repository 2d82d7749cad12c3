"""exec_run (output, exit code, env, user, workdir, stream) and a streamed log."""

import time

from e2e import CONFIGURED, IMAGE, check, client, name

c = client()
box = c.containers.run(CONFIGURED, ["sleep", "1000"], name=name("exec"), detach=True)
try:
    code, out = box.exec_run(["sh", "-c", "echo $X $(pwd)"])
    check((code, out) == (0, b"1 /data\n"), (code, out))
    code, out = box.exec_run(["sh", "-c", "exit 4"])
    check(code == 4, code)
    code, out = box.exec_run("id -u", user="nobody")
    check(out == b"65534\n", out)
    code, out = box.exec_run("pwd", workdir="/tmp")
    check(out == b"/tmp\n", out)
    code, out = box.exec_run(["sh", "-c", "echo $NEW"], environment={"NEW": "n"})
    check(out == b"n\n", out)
    code, (stdout, stderr) = box.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
    check((stdout, stderr) == (b"o\n", b"e\n"), (stdout, stderr))
    # A streamed exec yields its output as it comes.
    result = box.exec_run(["sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.2; done"], stream=True)
    check(b"".join(result.output) == b"1\n2\n3\n", "streamed exec output")
finally:
    box.remove(force=True)

# logs(stream=True, follow=True) yields lines as the container writes them, and ends with it.
writer = c.containers.run(
    IMAGE, ["sh", "-c", "for i in $(seq 1 50); do echo line$i; sleep 0.02; done"],
    name=name("stream"), detach=True,
)
try:
    started = time.time()
    lines = b"".join(writer.logs(stream=True, follow=True)).decode().splitlines()
    check(lines == [f"line{i}" for i in range(1, 51)], lines)
    check(time.time() - started < 30, "the log stream did not end with the container")
    check(writer.wait(timeout=30)["StatusCode"] == 0, "exit status")
finally:
    writer.remove(force=True)
print("ok")
