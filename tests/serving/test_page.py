"""The page as people use it, in headless Chromium (Playwright, Debian's chromium that .ci/run installs): pick an
image (or drop it on the page), choose the translation, and the result shown (and offered for download) is the file
`translate predict` writes for it; a StarGAN page offers every domain and shows one result per domain, and a
multi-label one sets attribute values."""

from pathlib import Path

import pytest

from tests.serving.conftest import image_bytes, serving
from translate.inference.predict import predict_folder
from translate.serving.app import create_app
from translate.serving.model import ServedModel

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip
# The shown image's bytes, read back from its blob URL inside the page.
# Drops a file on the drop zone as a file manager would (a DragEvent carrying it).
DROP = """([name, data]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([new Uint8Array(data)], name, {type: "image/png"}));
  const event = new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true});
  document.getElementById("drop").dispatchEvent(event);
}"""
SHOWN_BYTES = "async (image) => Array.from(new Uint8Array(await (await fetch(image.src)).arrayBuffer()))"


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _translate_on_page(
    browser, url: str, image: Path, target: str, attrs: dict[str, str] | None = None, drop: bool = False
) -> list:
    page = browser.new_page()
    try:
        page.goto(url)
        page.wait_for_selector(f"#target option[value='{target}']", state="attached")
        if drop:
            page.evaluate(DROP, [image.name, list(image.read_bytes())])
        else:
            page.set_input_files("#file", str(image))
        page.select_option("#target", target)
        for name, value in (attrs or {}).items():  # a multi-label model's attribute selects
            page.select_option(f"[data-attribute={name}]", value)
        page.click("#go")
        page.wait_for_function("document.querySelectorAll('img.result').length > 0 && !document.getElementById('go')"
                               ".disabled")  # fmt: skip
        assert page.text_content("#error") == ""
        results = page.query_selector_all("img.result")
        return [
            {
                "alt": result.get_attribute("alt"),
                "download": page.get_attribute(f"#results figure:nth-child({index + 1}) a.download", "download"),
                "size": result.evaluate("image => [image.naturalWidth, image.naturalHeight]"),
                "shown": bytes(result.evaluate(SHOWN_BYTES)),
            }
            for index, result in enumerate(results)
        ]
    finally:
        page.close()


@pytest.mark.parametrize("drop", [False, True], ids=["picked", "dropped"])
def test_the_page_shows_what_predict_writes(browser, cyclegan, tmp_path, drop):
    image = tmp_path / "in" / "apple.png"
    image.parent.mkdir()
    image.write_bytes(image_bytes((30, 22)))
    (expected,) = predict_folder(cyclegan, image, tmp_path / "out", direction="b2a", progress=False)
    with serving(create_app(ServedModel(cyclegan))) as url:
        (shown,) = _translate_on_page(browser, url, image, "b2a", drop=drop)
    assert shown["shown"] == expected.read_bytes()
    assert shown["size"] == [30, 22] and shown["download"] == "apple_b2a.png"


def test_a_stargan_page_translates_to_every_domain(browser, tiny_stargan, tmp_path):
    model = tiny_stargan().eval()
    image = tmp_path / "in" / "face.jpg"
    image.parent.mkdir()
    image.write_bytes(image_bytes((20, 18), "JPEG"))
    predict_folder(model, image, tmp_path / "out", targets=["all"], progress=False)
    with serving(create_app(ServedModel(model))) as url:
        shown = _translate_on_page(browser, url, image, "every domain")
    assert [panel["download"] for panel in shown] == ["face_red.jpg", "face_green.jpg", "face_blue.jpg"]
    for panel, domain in zip(shown, ["red", "green", "blue"], strict=True):
        assert panel["shown"] == (tmp_path / "out" / domain / "face.jpg").read_bytes()


def test_a_multi_label_page_sets_attributes(browser, tiny_stargan, tmp_path):
    model = tiny_stargan(label_mode="multi").eval()
    image = tmp_path / "in" / "face.png"
    image.parent.mkdir()
    image.write_bytes(image_bytes((20, 18)))
    (expected,) = predict_folder(model, image, tmp_path / "out", attrs={"green": 1.0, "blue": 0.0}, progress=False)
    with serving(create_app(ServedModel(model))) as url:
        (shown,) = _translate_on_page(browser, url, image, "red", attrs={"green": "1", "blue": "0"})
    assert shown["shown"] == expected.read_bytes() and shown["download"] == "face_attributes.png"
