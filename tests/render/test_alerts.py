"""Alert defects found in review, each checked by promtool over hand-written series, and a property of every
generated alert: the branches of an ``or`` yield the same label set."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import materialize, render_text, run


def promtool_alert_test(promtool: str, tree: Path, input_series: list[dict[str, str]], eval_time: str,
                        expected: dict[str, list[dict[str, object]]], interval: str = "15s") -> str:
    """Run the rendered rules and alerts over ``input_series`` and compare the firing alerts with ``expected``
    (written by hand), through promtool; returns promtool's output, having asserted it passed."""
    doc = {
        "rule_files": ["rules.yaml", "alerts.yaml"],
        "evaluation_interval": interval,
        "tests": [{
            "interval": interval,
            "input_series": input_series,
            "alert_rule_test": [{"eval_time": eval_time, "alertname": name, "exp_alerts": alerts}
                                for name, alerts in expected.items()],
        }],
    }
    (tree / "prometheus" / "hand.test.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    out = run([promtool, "test", "rules", "hand.test.yaml"], cwd=tree / "prometheus", check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def cp_alert(name: str, signal: str, service: str, description: str, summary: str) -> dict[str, object]:
    return {"exp_labels": {"severity": "warning", "signal": signal, "service": service, "namespace": "istio-system"},
            "exp_annotations": {"summary": summary, "description": description}}


def test_mixer_era_csr_and_injection_alerts_read_the_citadel_and_injector_jobs(tmp_path: Path, promtool: str) -> None:
    """The Mixer-era Helm chart (Istio 1.0–1.4) scrapes Citadel and the sidecar injector in jobs of their own
    (``citadel``, ``sidecar-injector``); their failures must reach the alerts.  The series are written the way
    that chart's Prometheus stores them: 6 failures a minute is 0.1/s."""
    r = render_text(tmp_path, """
        name: mixer
        istio: {version: "1.4"}
        rules: {window: 1m, interval: 15s}
        """)
    tree = materialize(r, tmp_path / "tree")
    series = [
        {"series": 'up{job="pilot",instance="10.0.0.2:15014"}', "values": "1+0x200"},
        {"series": 'pilot_xds_pushes{job="pilot",instance="10.0.0.2:15014",type="cds"}', "values": "0+15x200"},
        {"series": 'citadel_server_csr_sign_err_count{job="citadel",instance="10.0.0.3:15014"}',
         "values": "0+1.5x200"},
        {"series": 'sidecar_injection_success_total{job="sidecar-injector",instance="10.0.0.4:15014"}',
         "values": "0+15x200"},
        {"series": 'sidecar_injection_failure_total{job="sidecar-injector",instance="10.0.0.4:15014"}',
         "values": "0+1.5x200"},
    ]
    promtool_alert_test(promtool, tree, series, "30m", {
        "IstioCSRFailures": [cp_alert("IstioCSRFailures", "istiod.csr_failures.rate", "pilot",
                                      "Certificate signing requests fail at 0.1/s.",
                                      "istiod: certificate signing requests fail")],
        "IstioSidecarInjectionFailures": [cp_alert("IstioSidecarInjectionFailures", "istiod.injection_failures.rate",
                                                   "pilot", "Sidecar injection fails at 0.1/s.",
                                                   "istiod: sidecar injection fails")],
        "IstiodDown": [],
        "IstiodPushErrors": [],
    })
