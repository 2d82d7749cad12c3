"""images: list, get, tag, remove, attrs, history."""

import docker

from e2e import CONFIGURED, IMAGE, TOKEN, check, client

c = client()
tags = [t for i in c.images.list() for t in i.tags]
check(IMAGE in tags and CONFIGURED in tags, tags)
image = c.images.get(CONFIGURED)
check(image.id.startswith("sha256:"), image.id)
check(image.attrs["Config"]["WorkingDir"] == "/data", image.attrs["Config"])
check(image.labels.get("e2e.image") == "configured", image.labels)
check(len(image.history()) >= 1, image.history())

repo = f"{TOKEN}/sdk-image"
check(image.tag(repo, "v1") is True, "tag")
tagged = c.images.get(f"{repo}:v1")
check(tagged.id == image.id, (tagged.id, image.id))
check(f"{repo}:v1" in c.images.get(image.id).tags, c.images.get(image.id).tags)
check([i.id for i in c.images.list(name=repo)] == [image.id], c.images.list(name=repo))
c.images.remove(f"{repo}:v1")
try:
    c.images.get(f"{repo}:v1")
    check(False, "the removed tag is still there")
except docker.errors.ImageNotFound:
    pass
check(c.images.get(CONFIGURED).id == image.id, "removing a tag removed the image")
print("ok")
