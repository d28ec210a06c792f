"""labkit/static holds the bundles of ONE front-end tree (extensions/src) built by ONE build
(extensions/build.mjs), and they are current: each banner carries the hash of extensions/src,
so a stale bundle is caught here without Node.  No bundle reaches the network."""
import hashlib
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC = ROOT / "extensions" / "src"
STATIC = ROOT / "labkit" / "static"


def source_hash():
    h = hashlib.sha256()
    for p in sorted(SRC.iterdir(), key=lambda p: p.name):
        h.update((p.name + "\n").encode())
        h.update(p.read_bytes())
        h.update(b"\n")
    return h.hexdigest()


def entries():
    text = (ROOT / "extensions" / "build.mjs").read_text()
    return re.findall(r'"(\w+\.(?:js|css))"', text[text.index("ENTRIES"):])


def test_one_source_tree_one_build():
    ext = ROOT / "extensions"
    assert sorted(p.name for p in ext.iterdir() if p.is_dir() and p.name != "node_modules") == ["src"]
    assert sorted(p.name for p in ext.glob("*.mjs")) == ["build.mjs"]
    import json
    assert json.loads((ext / "package.json").read_text())["scripts"]["build"] == "node build.mjs"


def test_every_entry_is_built_and_current():
    want = source_hash()
    names = entries()
    assert {"monitor.js", "graph.js", "stepper.js", "boundary.js", "labkit.css"} <= set(names)
    for name in names:
        if not (SRC / name).exists():
            continue
        path = STATIC / name
        assert path.exists(), f"labkit/static/{name} missing: cd extensions && npm ci && npm run build"
        m = re.search(r"src-sha256=([0-9a-f]{64})", path.read_text()[:300])
        assert m and m.group(1) == want, \
            f"labkit/static/{name} is stale: cd extensions && npm ci && npm run build"
    # nothing in static that the build does not make
    assert {p.name for p in STATIC.iterdir()} <= set(names)


def test_bundles_need_no_network():
    for path in STATIC.iterdir():
        text = path.read_text()
        assert "https://" not in text and "http://" not in text.replace("http://www.w3.org", ""), path


def test_every_widget_uses_the_shared_base_and_hides_its_fallback():
    from labkit.viz._base import Widget
    import labkit.viz as viz
    for name in viz.__all__:
        obj = getattr(viz, name)
        if isinstance(obj, type) and hasattr(obj, "_esm"):
            assert issubclass(obj, Widget), name
            js = str(obj._esm)              # anywidget may have read the file already
            if len(js) < 400 and pathlib.Path(js).is_file():
                js = pathlib.Path(js).read_text()
            assert "labkit-fallback-" in js, f"{name}'s front-end does not hide its static picture"
