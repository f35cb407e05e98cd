"""Loading profiles: exact error messages with file:line:column, field path and hint; nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from istiogen.errors import ProfileError
from istiogen.profile.loader import load_profile
from istiogen.validate import load
from tests.conftest import write_profile


def errors_of(tmp_path: Path, text: str) -> list[str]:
    path = write_profile(tmp_path, text)
    with pytest.raises(ProfileError) as e:
        load(path)  # the loader and the cross-field rules (stage 1)
    return [p.text().replace(str(tmp_path) + "/", "") for p in e.value.problems if p.level == "error"]


def test_every_schema_error_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    errs = errors_of(tmp_path, """
        name: bad
        istio:
          version: 1.10
          namespce: istio-system
        prometheus:
          flavour: samples-1.17
          port: "9090"
          deployment: Prometheus
          selector:
            app: prom etheus
        sysdig:
          mode: promscrape-v3
          envoy_filter: yes
        rules:
          window: 5x
          custom:
            - record: my:rule
              expr: sum(rate(foo[5m]) by (x)
            - record: "bad name"
              expr: up
        """)
    assert errs == [
        'profile.yaml:3:12: error: istio.version: expected a string, got the number 1.1 '
        '(quote it, e.g. "1.10": unquoted, YAML reads 1.10 as the number 1.1) [type]',
        "profile.yaml:4:3: error: istio.namespce: unknown key 'namespce' (did you mean 'namespace'?) [unknown-key]",
        "profile.yaml:6:12: error: prometheus.flavour: the string 'samples-1.17' is not one of: helm-1.4, "
        "istioctl-1.5, samples-1.7, samples-1.14, samples-1.22 (did you mean 'samples-1.7'?) [enum]",
        "profile.yaml:7:9: error: prometheus.port: expected an integer, got the string '9090' "
        "(remove the quotes: 9090) [type]",
        "profile.yaml:8:15: error: prometheus.deployment: 'Prometheus' is not a valid Kubernetes object name: "
        "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit "
        "(did you mean 'prometheus'?) [k8s-name]",
        "profile.yaml:10:10: error: prometheus.selector.app: 'prom etheus' is not a valid Kubernetes label value: "
        "at most 63 letters, digits, '-', '_' or '.' [k8s-label-value]",
        "profile.yaml:12:9: error: sysdig.mode: the string 'promscrape-v3' is not one of: promscrape-v1, "
        "promscrape-v2 (did you mean 'promscrape-v2'?) [enum]",
        "profile.yaml:13:17: error: sysdig.envoy_filter: expected true or false, got the string 'yes' "
        "(write true or false) [type]",
        "profile.yaml:15:11: error: rules.window: '5x' is not a Prometheus duration such as 30s, 1m or 1h30m "
        "[duration]",
        "profile.yaml:18:13: error: rules.custom[0].expr: invalid PromQL: unclosed left parenthesis [promql]",
        "profile.yaml:19:15: error: rules.custom[1].record: 'bad name' is not a valid Prometheus metric name: "
        "letters, digits, '_' and ':', not starting with a digit (did you mean 'bad_name'?) [prom-metric]",
    ]


def test_yaml_syntax_error_points_at_the_line(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "name: x\nistio: {version: '1.5'\n") == [
        "profile.yaml:3:1: error: invalid YAML: while parsing a flow mapping did not find expected ',' or '}' "
        "(the '{' at line 2 column 8 is not closed) [yaml-syntax]"
    ]


def test_tab_indentation_gets_a_hint(tmp_path: Path) -> None:
    (err,) = errors_of(tmp_path, 'name: x\nistio:\n\tversion: "1.5"\n')
    assert err.startswith("profile.yaml:3:1: error: invalid YAML:")
    assert "(indent with spaces; YAML does not allow tabs for indentation)" in err


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "name: x\nistio: {version: '1.5'}\nistio: {}\n") == [
        "profile.yaml:3:1: error: istio: duplicate key 'istio' (first defined at line 2) "
        "(remove one of them; YAML keeps only the last silently) [yaml-duplicate-key]"
    ]


def test_empty_file_and_wrong_top_level(tmp_path: Path) -> None:
    assert errors_of(tmp_path, "# only a comment\n") == [
        'profile.yaml: error: the file is empty (a profile needs at least: istio: {version: "1.22"}) [empty-file]'
    ]
    assert errors_of(tmp_path, "- a\n- b\n") == [
        'profile.yaml:1:1: error: a profile is a mapping of settings, not a list (e.g. istio: {version: "1.22"}) '
        "[profile-type]"
    ]


def test_non_utf8_reports_the_byte_position(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_bytes(b'name: x\nistio: {version: "1.5"}\ndescription: "ab\xff"\n')
    with pytest.raises(ProfileError) as e:
        load_profile(path)
    assert [p.text().replace(str(tmp_path) + "/", "") for p in e.value.problems] == [
        "profile.yaml:3:17: error: not valid UTF-8 (byte 0xff) (save the file as UTF-8) [encoding]"
    ]


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    rows = ["a: &a [1,2,3,4,5,6,7,8,9]"]
    for prev, cur in zip("abcde", "bcdef", strict=True):
        rows.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    (err,) = errors_of(tmp_path, "\n".join(rows) + "\n")
    assert "expands to more than 200000 values (an alias/anchor bomb?)" in err


def test_yaml11_boolean_where_a_string_is_meant(tmp_path: Path) -> None:
    errs = errors_of(tmp_path, "name: x\nistio: {version: '1.5'}\nprometheus:\n  selector: {app: on}\n")
    assert errs == [
        "profile.yaml:4:19: error: prometheus.selector.app: unquoted 'on' is a boolean in YAML 1.1 (kubectl, Helm) "
        'but a string here (quote it: "on" (or write true/false if a boolean is meant; yes/no/on/off/y/n are '
        "ambiguous)) [yaml11-boolean]"
    ]


def test_unknown_key_lists_the_known_keys_when_nothing_is_close(tmp_path: Path) -> None:
    (err,) = errors_of(tmp_path, "name: x\nistio: {version: '1.5'}\nsysdig: {zzz: 1}\n")
    assert "sysdig.zzz: unknown key 'zzz' (known keys: agent_version, config_map, envoy_filter, federation," in err


def test_unknown_version_lists_known_ones(tmp_path: Path) -> None:
    (err,) = errors_of(tmp_path, "name: x\nistio: {version: '2.0'}\n")
    assert err == ("profile.yaml:2:18: error: istio.version: unknown Istio version '2.0'; "
                   "istiogen knows 1.0–1.30 [istio-version]")


def test_cross_field_checks_point_at_the_field(tmp_path: Path) -> None:
    errs = errors_of(tmp_path, """
        name: x
        istio: {version: "1.4"}
        rules:
          version_labels: canonical
          kept_labels: [pod_name, destination_versoin]
          latency_buckets: [7]
        """)
    assert errs == [
        "profile.yaml:4:19: error: rules.version_labels: canonical service labels need Istio 1.5 or later "
        "(this is 1.4) (use version_labels: app) [canonical-labels]",
        "profile.yaml:5:17: error: rules.kept_labels[0]: 'pod_name' is not a standard Istio 1.4 metric label "
        "[unknown-label]",
        "profile.yaml:5:27: error: rules.kept_labels[1]: 'destination_versoin' is not a standard Istio 1.4 metric "
        "label (did you mean 'destination_version'?) [unknown-label]",
        "profile.yaml:6:21: error: rules.latency_buckets[0]: 7 is not a histogram bound of Istio 1.4 "
        "(bounds: 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10) [unknown-bucket]",
    ]


def test_kept_pod_label_is_refused(tmp_path: Path) -> None:
    (err,) = errors_of(tmp_path, "name: x\nistio: {version: '1.5'}\nrules: {kept_labels: [namespace]}\n")
    assert "rules.kept_labels[0]: 'namespace' is added per scrape target (pod/instance)" in err


def test_experiment_and_duplicate_checks(tmp_path: Path) -> None:
    errs = errors_of(tmp_path, """
        name: x
        istio: {version: "1.22"}
        rules: {scopes: [service]}
        services:
          - {name: a, namespace: ns}
          - {name: a, namespace: ns}
        experiments:
          - {name: e, service: a, namespace: ns, baseline: v1, candidate: v1}
        """)
    assert errs == [
        "profile.yaml:3:17: error: rules.scopes: experiments compare versions: add 'service_version' "
        "[experiment-rules]",
        "profile.yaml:6:5: error: services[1]: service 'ns/a' is listed twice (also at services[0]) "
        "[duplicate-service]",
        "profile.yaml:8:67: error: experiments[0].candidate: baseline and candidate are both 'v1' [same-versions]",
    ]


def test_output_dir_must_stay_inside_the_root(tmp_path: Path) -> None:
    (err,) = errors_of(tmp_path, "name: x\nistio: {version: '1.5'}\noutput: {dir: ../elsewhere}\n")
    assert err == ("profile.yaml:3:15: error: output.dir: '../elsewhere' must be a relative folder under the "
                   "output root, without '..' (e.g. dir: my-cluster) [output-outside]")


def test_name_defaults_to_the_file_name(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "istio: {version: '1.5'}\n", name="my-cluster.yaml")
    assert load_profile(path).model.name == "my-cluster"


def test_embedded_default_profile_is_the_documented_scenario() -> None:
    p = load_profile(None).model
    assert (p.istio.version, p.istio.namespace, p.prometheus.flavour) == ("1.5", "istio-system", "istioctl-1.5")
    assert (p.sysdig.mode, p.sysdig.envoy_filter) == ("promscrape-v1", True)
