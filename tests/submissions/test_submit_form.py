"""The submit form a newcomer meets: a MetaFormer's stages, token mixers (with each mixer's own fields), width,
depth and patch size as fields from the spec models; the benchmark's limits beside them; only presets that fit;
and after a failed submit the family and fields kept, with each bad field named in a plain sentence."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient

from app.benchmarks.registry import get_benchmark
from app.submissions.specform import family_forms, field_label, fitting_presets, plain_errors
from app.zoo.limits import fits
from tests.accounts.test_accounts import csrf
from tests.web.test_pages import embedded

VIT = {
    "family": "metaformer",
    "stem": {"kind": "patch", "patch_size": 2},
    "stages": [{"depth": 2, "width": 30, "mixer": {"kind": "attention", "heads": 4}}],
}


def test_the_metaformer_form_has_stages_mixers_width_depth_and_patch() -> None:
    fields = {f["path"]: f for f in family_forms()["metaformer"]["fields"]}
    assert fields["stages"]["type"] == "list" and fields["stages"]["max_items"] == 6
    assert fields["stages.*.depth"]["max"] == 64 and fields["stages.*.width"]["max"] == 2048
    assert fields["stem.patch_size"]["when"] == {"stem.kind": "patch"}
    assert "attention" in fields["stages.*.mixer.kind"]["choices"]
    assert all(fields[p]["description"] for p in ("stages.*.depth", "stages.*.width", "stem.patch_size"))
    own = [f for f in family_forms()["metaformer"]["fields"] if f["path"] == "stages.*.mixer.window"]
    assert own and own[0]["when"] == {"stages.*.mixer.kind": "window_attention"}  # a mixer's own field


def test_only_presets_that_fit_the_benchmark_are_offered(client: TestClient) -> None:
    digits = get_benchmark("digits")
    offered = fitting_presets()["digits"]
    refused = [p for p in fitting_presets()["cifar10"] if p not in offered]
    assert refused, "some preset fits CIFAR-10 but not the 8×8 digits"
    assert not fits({"preset": refused[0]}, digits.input_shape, digits.num_classes, digits.limits)
    page = client.get("/submit?benchmark=digits").text
    preset_select = re.search(r'<select id="preset".*?</select>', page, re.S)
    assert preset_select and f'value="{offered[0]}"' in preset_select.group(0)
    assert f'value="{refused[0]}"' not in preset_select.group(0)
    info = embedded(page, "bench-info")
    assert info["presets"]["cifar10"] == fitting_presets()["cifar10"]
    assert info["limits"]["digits"]["max_width"] == digits.limits.max_width
    assert f"depth {digits.limits.max_depth} and width {digits.limits.max_width}" in page


def _post(client: TestClient, spec: str, **extra: str) -> Any:
    form = {"name": "mine", "benchmark": "digits", "spec": spec, "family": "metaformer", **extra}
    return client.post("/submit", data={**form, "csrf_token": csrf(client, "/submit")})


def test_a_bad_field_is_named_in_a_sentence_and_the_form_is_kept(client: TestClient) -> None:
    res = _post(client, json.dumps(VIT))  # width 30 with 4 heads
    assert res.status_code == 422
    shown = res.text.split('id="form-errors"')[1].split("</div>")[0]
    assert "body.spec" not in res.text and "<code>" not in shown
    assert re.search(r'<option value="metaformer"\s+selected>', res.text)  # the chosen family stays
    assert "&#34;width&#34;: 30" in res.text or '"width": 30' in res.text  # and the fields typed
    errors = embedded(res.text, "field-errors")
    assert errors == [
        {
            "path": "stages.0",
            "label": "Stage 1",
            "msg": "width 30 is not divisible by the mixer's 4 heads",
            "sentence": "Stage 1: width 30 is not divisible by the mixer's 4 heads.",
        }
    ]
    assert "Stage 1: width 30 is not divisible by the mixer&#39;s 4 heads." in res.text


def test_an_unknown_field_and_a_limit_say_so_plainly(client: TestClient) -> None:
    typo = {**VIT, "widht": 3}
    res = _post(client, json.dumps(typo))
    assert res.status_code == 422 and "Widht: is not a field here" in res.text
    wide = {**VIT, "stages": [{"depth": 2, "width": 2048, "mixer": "pooling"}]}
    res = _post(client, json.dumps(wide))
    assert res.status_code == 422 and "exceeds this benchmark&#39;s limit" in res.text


def test_a_json_typo_says_where_the_json_breaks(client: TestClient) -> None:
    res = _post(client, '{\n  "family": "metaformer",\n  "stages": [}\n}')
    assert res.status_code == 422
    assert "the spec is not valid JSON: Expecting value at line 3, column 14" in res.text
    assert 'id="spec-error"' in res.text and "YAML" not in res.text.split('id="spec-error"')[1][:200]


def test_labels_and_sentences_name_the_field_in_words() -> None:
    assert field_label("stages.1.mixer.heads") == "Stage 2 mixer heads"
    assert field_label("layers.0") == "Layer 1"
    assert field_label("seeds") == "Seeds"
    (error,) = plain_errors([{"loc": ["body", "spec", "stem", "patch_size"], "msg": "Field required"}])
    assert error["sentence"] == "Stem patch size: is required."


STUDY = {"name": "Heads", "benchmark": "digits", "preset": "tiny_vit_digits", "axis": "path", "series": ""}


def test_the_study_form_varies_a_field_by_path(client: TestClient) -> None:
    page = client.get("/submit").text
    assert "built-in method" not in page and 'id="study-values-error"' not in page
    assert '<option value="path" >any numeric field, by its path</option>' in page and 'id="study-path"' in page
    form = {**STUDY, "path": "stages.*.mlp_ratio", "values": "1, 2", "match": "", "seeds": "2"}
    res = client.post("/studies/new", data={**form, "csrf_token": csrf(client, "/submit")}, follow_redirects=False)
    assert res.status_code == 303, res.text
    study = client.get("/api/v1" + res.headers["location"]).json()
    assert study["path"] == "stages.*.mlp_ratio" and [v["label"] for v in study["variant_list"]] == ["1", "2"]


def test_a_study_form_error_is_beside_its_field_and_the_input_is_kept(client: TestClient) -> None:
    form = {**STUDY, "path": "stages.*.heads", "values": "1, 2", "match": "", "seeds": "2"}
    res = client.post("/studies/new", data={**form, "csrf_token": csrf(client, "/submit")})
    assert res.status_code == 422
    error = re.search(r'<p class="field-error" id="study-path-error">(.*?)</p>', res.text)
    assert error and "has no field" in error.group(1) and "stages.*.mlp_ratio" in error.group(1)
    assert 'value="stages.*.heads" placeholder="e.g. stages.*.mlp_ratio" aria-invalid="true"' in res.text
    assert '<option value="path" selected>' in res.text and 'value="Heads"' in res.text
    bad_seeds = {**form, "path": "stages.*.depth", "seeds": "many"}
    res = client.post("/studies/new", data={**bad_seeds, "csrf_token": csrf(client, "/submit")})
    assert res.status_code == 422 and 'id="study-seeds-error">seeds is a whole number, e.g. 3.' in res.text
