"""/docs and /redoc work offline: every script and stylesheet they load is served by the API
itself (the browser test in tests/ui opens /docs and finds the endpoints listed)."""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from arcfarm.api.main import create_app
from arcfarm.settings import Settings


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets(tmp_path, page):
    client = TestClient(create_app(Settings(home=tmp_path)))
    html = client.get(page).text
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, html
    for url in assets:
        assert url.startswith("/"), f"{page} loads {url} from elsewhere"
        response = client.get(url)
        assert response.status_code == 200 and len(response.content) > 1000, url
    assert "cdn" not in html.lower()
