"""OpenShift images: ImageStreams, their tags' history, the ImageStreamTag a GET
shows, what image a pod runs (resolved at its creation, as the kubelet pulls
it and OpenShift's admission resolves short names), and the image trigger
controller: an unpaused image.openshift.io/triggers entry of a Deployment
gets the tag's new image written into its fieldPath at once when the tag
moves (a plain rollout, no drain), as OpenShift does.

world.json's "imagestreams": [{"name": S, "lookupPolicyLocal": bool,
"tags": {TAG: "registry.cern.ch/...:1.4.2"}}], each tag imported once at the
start. POST /_test/import {"stream", "tag", "from"} imports a new image
(a new digest), as `oc import-image` does."""
import hashlib
import json
import re
import time
import uuid

from kube.util import log, now_rfc3339

REGISTRY = "image-registry.openshift-image-registry.svc:5000"
TRIGGERS = "image.openshift.io/triggers"
FIELD = re.compile(r'^spec\.template\.spec\.containers\[\?\(@\.name==(["\'])(.+)\1\)\]\.image$')


def parse_ref(image):
    """(kind, ns, stream, tag, digest) of a container's image: "digest",
    "registry" (the integrated registry's NS/STREAM[:TAG]), "short"
    (STREAM[:TAG]) or "external"."""
    if "@" in image:
        return ("digest", None, None, None, image.split("@", 1)[1])
    host, path = None, image
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    name, tag = path, "latest"
    if ":" in path.rsplit("/", 1)[-1]:
        name, tag = path.rsplit(":", 1)
    parts = name.split("/")
    if host == REGISTRY and len(parts) == 2:
        return ("registry", parts[0], parts[1], tag, None)
    if host is None and len(parts) == 1:
        return ("short", None, name, tag, None)
    return ("external", None, None, tag, None)


class Images:
    """Mixed into Cluster: uses its lock, ns, deployments, rv and bump_dep()."""

    def init_images(self, cfg):
        self.imagestreams = {}
        for s in cfg.get("imagestreams", []):
            self.imagestreams[s["name"]] = {
                "uid": str(uuid.uuid4()), "created": time.time(), "generation": 1,
                "local": bool(s.get("lookupPolicyLocal", False)), "tags": {}, "spec": {}}
            for tag, src in (s.get("tags") or {}).items():
                self.import_image(s["name"], tag, src, initial=True)

    def import_image(self, stream, tag, src, initial=False):
        """A new image in stream:tag (oc import-image): its digest, then the
        triggers that follow the tag. The caller holds the lock."""
        st = self.imagestreams[stream]
        st["generation"] += 1
        items = st["tags"].setdefault(tag, [])
        digest = "sha256:" + hashlib.sha256(("%s|%s|%s|%d" % (stream, tag, src, len(items))).encode()
                                            ).hexdigest()
        repo = src.split("@")[0].rsplit(":", 1)[0] if ":" in src.split("/")[-1] else src.split("@")[0]
        items.insert(0, {"created": now_rfc3339(time.time()), "dockerImageReference": repo + "@" + digest,
                         "image": digest, "generation": st["generation"]})
        st["spec"][tag] = src
        log("imagestream %s:%s now %s" % (stream, tag, digest))
        self.fire_triggers(stream, tag, initial)
        return digest

    def tag_item(self, stream, tag):
        st = self.imagestreams.get(stream)
        items = (st or {}).get("tags", {}).get(tag) or []
        return items[0] if items else None

    def fire_triggers(self, stream, tag, initial=False):
        """The trigger controller: each unpaused trigger on stream:tag writes the
        tag's image into its container (a template change: a rollout; initial:
        the world's start, as if the Deployment had been created so)."""
        item = self.tag_item(stream, tag)
        for dep in self.deployments.values():
            try:
                trig = json.loads((dep.metadata.get("annotations") or {}).get(TRIGGERS) or "[]")
            except ValueError:
                continue
            changed = False
            for t in trig if isinstance(trig, list) else []:
                frm = t.get("from") or {}
                name = frm.get("name", "")
                if ":" not in name:
                    name += ":latest"
                paused = t.get("paused", False)
                if isinstance(paused, str):
                    paused = paused.lower() == "true"
                if (frm.get("kind") != "ImageStreamTag" or name != "%s:%s" % (stream, tag)
                        or frm.get("namespace", self.ns) not in ("", self.ns) or paused):
                    continue
                m = FIELD.match(t.get("fieldPath", ""))
                for c in dep.spec["template"]["spec"]["containers"]:
                    if m and c["name"] == m.group(2) and c["image"] != item["dockerImageReference"]:
                        c["image"] = item["dockerImageReference"]
                        changed = True
            if changed and not initial:
                dep.metadata["generation"] += 1
                dep.generation_changed_at = time.time()
                log("image trigger: deployment %s rolls out %s:%s" % (dep.name, stream, tag))
                self.bump_dep(dep)

    def resolve_pod_images(self, pod):
        """At the pod's creation: a short name an ImageStream with
        lookupPolicy.local resolves is rewritten to its pull spec; each
        container's imageID is what its image names now."""
        pod.image_ids = {}
        for c in pod.spec.get("containers", []):
            kind, ns, stream, tag, digest = parse_ref(c["image"])
            if kind == "digest":
                pod.image_ids[c["name"]] = c["image"]
                continue
            item = None
            if kind == "registry" and ns == self.ns:
                item = self.tag_item(stream, tag)
            elif kind == "short" and (self.imagestreams.get(stream) or {}).get("local"):
                item = self.tag_item(stream, tag)
                if item is not None:
                    c["image"] = item["dockerImageReference"]
            if item is not None:
                pod.image_ids[c["name"]] = "%s/%s/%s@%s" % (REGISTRY, self.ns, stream, item["image"])

    def render_ist(self, stream, tag):
        st = self.imagestreams.get(stream)
        item = self.tag_item(stream, tag)
        if item is None:
            return None
        return {"kind": "ImageStreamTag", "apiVersion": "image.openshift.io/v1",
                "metadata": {"name": "%s:%s" % (stream, tag), "namespace": self.ns,
                             "uid": st["uid"], "resourceVersion": str(self.rv),
                             "creationTimestamp": item["created"]},
                "tag": {"name": tag, "annotations": None, "from": {"kind": "DockerImage",
                        "name": st["spec"].get(tag)}, "generation": item["generation"],
                        "importPolicy": {"importMode": "Legacy"},
                        "referencePolicy": {"type": "Source"}},
                "generation": item["generation"], "lookupPolicy": {"local": st["local"]},
                "image": {"metadata": {"name": item["image"], "uid": str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                                                    item["image"])),
                                       "resourceVersion": str(self.rv),
                                       "creationTimestamp": item["created"],
                                       "annotations": {"image.openshift.io/dockerLayersOrder": "ascending"}},
                          "dockerImageReference": item["dockerImageReference"],
                          "dockerImageMetadata": {"kind": "DockerImage", "apiVersion": "1.0",
                                                  "Id": "", "Created": item["created"]},
                          "dockerImageMetadataVersion": "1.0",
                          "dockerImageManifestMediaType":
                          "application/vnd.docker.distribution.manifest.v2+json"}}

    def render_is(self, stream):
        st = self.imagestreams.get(stream)
        if st is None:
            return None
        return {"kind": "ImageStream", "apiVersion": "image.openshift.io/v1",
                "metadata": {"name": stream, "namespace": self.ns, "uid": st["uid"],
                             "resourceVersion": str(self.rv), "generation": st["generation"],
                             "creationTimestamp": now_rfc3339(st["created"])},
                "spec": {"lookupPolicy": {"local": st["local"]},
                         "tags": [{"name": t, "from": {"kind": "DockerImage", "name": src},
                                   "generation": st["generation"], "importPolicy": {"importMode": "Legacy"},
                                   "referencePolicy": {"type": "Source"}}
                                  for t, src in sorted(st["spec"].items())]},
                "status": {"dockerImageRepository": "%s/%s/%s" % (REGISTRY, self.ns, stream),
                           "tags": [{"tag": t, "items": items} for t, items in sorted(st["tags"].items())]}}
