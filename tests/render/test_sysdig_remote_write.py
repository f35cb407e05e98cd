"""remote_write.sysdig_region: Sysdig's remote-write endpoint for the region, with a Sysdig API token from a
Secret as the bearer token.

The URL shape and the hosts are Sysdig's ("Prometheus Remote Write", https://docs.sysdig.com/en/docs/installation/
prometheus-remote-write/_print/: ``https://<region host>/prometheus/remote/write``, ``bearer_token`` a Sysdig API
token, not the agent access key), written here as literals, not read from istiogen's catalog; the remote_write
block is checked by promtool."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from istiogen.errors import ProfileError
from tests.conftest import REPO, load_text, render_text, run
from tests.render.test_prometheus_side import without_kubernetes_sd

DOCUMENTED = {  # region: host, from the doc's print page
    "us1": "api.sysdigcloud.com",
    "us2": "us2.app.sysdig.com",
    "eu1": "eu1.app.sysdig.com",
    "au1": "app.au1.sysdig.com",
}
SECRET = "secret: {name: sysdig-api-token, key: token}"


def _profile(remote: str, flavour: str = "samples-1.22") -> str:
    return (f'name: rw\nistio: {{version: "1.22"}}\nprometheus: {{flavour: {flavour}, delivery: mount}}\n'
            f"sysdig: {{federation: false}}\nremote_write: {remote}\n")


def _entry(tmp_path: Path, remote: str) -> dict:  # type: ignore[type-arg]
    r = render_text(tmp_path, _profile(remote))
    frag = yaml.safe_load(r.files["prometheus/prometheus-config-fragment.yaml"])
    (entry,) = frag["remote_write"]
    return entry  # type: ignore[no-any-return]


@pytest.mark.parametrize("region", sorted(DOCUMENTED))
def test_the_region_gives_sysdigs_url_and_bearer_auth(tmp_path: Path, region: str) -> None:
    entry = _entry(tmp_path, f"{{sysdig_region: {region}, {SECRET}}}")
    assert entry["url"] == f"https://{DOCUMENTED[region]}/prometheus/remote/write"
    assert entry["authorization"] == {"type": "Bearer", "credentials_file": "/etc/istiogen/remote-write/token"}


def test_the_shortcut_renders_the_same_bytes_as_the_url_spelt_out(tmp_path: Path) -> None:
    a = render_text(tmp_path / "a", _profile(f"{{sysdig_region: eu1, {SECRET}}}"))
    b = render_text(tmp_path / "b", _profile(f"{{url: 'https://eu1.app.sysdig.com/prometheus/remote/write', "
                                             f"auth: bearer, {SECRET}}}"))
    assert {k: v for k, v in a.files.items() if k != "index.json"} == \
        {k: v for k, v in b.files.items() if k != "index.json"}


def test_the_token_comes_from_the_secret_only(tmp_path: Path) -> None:
    r = render_text(tmp_path, _profile(f"{{sysdig_region: eu1, {SECRET}}}"))
    patch = yaml.safe_load(r.files["prometheus/deployment-patch.yaml"])
    volumes = patch["spec"]["template"]["spec"]["volumes"]
    # the 1.22 samples addon runs Prometheus as nobody without an fsGroup: the file is world-readable, never writable
    assert {"name": "istiogen-remote-write", "secret": {"secretName": "sysdig-api-token", "defaultMode": 0o444}} \
        in volumes


@pytest.mark.parametrize(("remote", "path", "message"), [
    ("{sysdig_region: eu1}", "remote_write.secret", "bearer auth needs the Secret holding the credential"),
    ("{sysdig_region: eu1, auth: basic, username: u, " + SECRET + "}", "remote_write.auth",
     "Sysdig's remote write takes a bearer token, not basic auth"),
    ("{url: 'https://eu1.app.sysdig.com/prometheus/remote/write', sysdig_region: eu1, " + SECRET + "}",
     "remote_write.url", "both url and sysdig_region (eu1) are set"),
    ("{" + SECRET + "}", "remote_write", "no endpoint: set url, or sysdig_region for Sysdig Monitor"),
    ("{sysdig_region: eu2, " + SECRET + "}", "remote_write.sysdig_region", None),
])
def test_refused(tmp_path: Path, remote: str, path: str, message: str | None) -> None:
    with pytest.raises(ProfileError) as e:
        load_text(tmp_path, _profile(remote))
    (p,) = e.value.problems
    assert p.path == path and p.level == "error"
    if message is not None:
        assert p.message == message


def test_the_remote_write_block_passes_promtool_check_config(tmp_path: Path, promtool: str) -> None:
    r = render_text(tmp_path, _profile(f"{{sysdig_region: au1, {SECRET}, max_samples_per_send: 2000}}"))
    frag = yaml.safe_load(r.files["prometheus/prometheus-config-fragment.yaml"])
    cm = yaml.safe_load((REPO / "tests/fixtures/addons/samples-1.22-configmap.yaml").read_text())
    cfg = without_kubernetes_sd(yaml.safe_load(cm["data"]["prometheus.yml"]))
    cfg["rule_files"] = []
    cfg["remote_write"] = frag["remote_write"]
    # the Secret, mounted where the entry reads it
    token = tmp_path / "pod" / "token"
    token.parent.mkdir()
    token.write_text("not-a-real-token\n")
    assert cfg["remote_write"][0]["authorization"]["credentials_file"] == "/etc/istiogen/remote-write/token"
    cfg["remote_write"][0]["authorization"]["credentials_file"] = str(token)
    (tmp_path / "pod" / "prometheus.yml").write_text(yaml.safe_dump(cfg))
    out = run([promtool, "check", "config", str(tmp_path / "pod" / "prometheus.yml")])
    assert "SUCCESS" in out.stdout + out.stderr
    # and a broken one fails (the check reads the block): bearer auth twice over
    cfg["remote_write"][0]["bearer_token"] = "x"
    (tmp_path / "pod" / "prometheus.yml").write_text(yaml.safe_dump(cfg))
    bad = run([promtool, "check", "config", str(tmp_path / "pod" / "prometheus.yml")], check=False)
    assert bad.returncode != 0
