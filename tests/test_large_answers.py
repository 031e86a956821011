"""Large KPI answers over the API: computed once, served page by page or downloaded whole.

An agent x day table over months has tens of thousands of rows; a data engineer pages
through it (``limit``, ``offset``, ``total``) or downloads it as CSV or Parquet, and the
engine runs once for all of it (the result is cached per data version).
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

import cxkpi.service.queries as queries

QUERY = "/api/kpis?kpi=contacts_offered&kpi=aht&by=agent_id,channel&grain=day"


@pytest.fixture
def manager(client_as: Any) -> TestClient:
    client: TestClient = client_as("manager")
    return client


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the engine computed a KPI answer."""
    calls: list[int] = []
    real = queries.compute

    def compute(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(queries, "compute", compute)
    return calls


def _pages(client: TestClient, url: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    offset, total = 0, None
    while total is None or offset < total:
        body = client.get(f"{url}&limit={limit}&offset={offset}").json()
        total = body["total"]
        rows += body["rows"]
        offset += limit
    return rows, int(total)


def test_pages_csv_and_parquet_are_one_answer_computed_once(manager: TestClient, counted: list[int]) -> None:
    url = QUERY + "&param=short_abandon_s=4"  # a query no other test has cached
    rows, total = _pages(manager, url, 1000)
    assert total == len(rows) > 1000  # more than one page
    csv = manager.get(url + "&format=csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    parquet = manager.get(url + "&format=parquet")
    assert parquet.status_code == 200 and parquet.headers["content-type"] == "application/vnd.apache.parquet"
    assert counted == [1]  # every page and both downloads read the one cached result
    paged = pd.DataFrame(rows)
    from_csv = pd.read_csv(io.StringIO(csv.text), dtype={"agent_id": str, "period": str, "channel": str})
    from_parquet = pq.read_table(io.BytesIO(parquet.content)).to_pandas()
    assert len(from_csv) == len(from_parquet) == total
    assert list(from_csv.columns) == list(from_parquet.columns) == list(paged.columns)
    assert from_csv["contacts_offered"].sum() == from_parquet["contacts_offered"].sum() == paged["contacts_offered"].sum()
    key = ["period", "agent_id", "channel"]
    left = from_parquet.astype({"aht": "float64"}).fillna({"agent_id": ""}).sort_values(key).reset_index(drop=True)
    right = paged.astype({"aht": "float64"}).fillna({"agent_id": ""}).sort_values(key).reset_index(drop=True)
    pd.testing.assert_series_equal(left["aht"], right["aht"], check_names=False)


def test_an_answer_over_ten_thousand_rows_is_served(manager: TestClient) -> None:
    """The former cap (10,000 rows, refused after computing them) is gone."""
    url = "/api/kpis?kpi=contacts_answered&by=agent_id,channel,reason,product&grain=day"
    first = manager.get(url + "&limit=10&offset=0").json()
    assert first["total"] > 10_000, first["total"]
    last = manager.get(url + f"&limit=10&offset={first['total'] - 3}").json()
    assert len(last["rows"]) == 3


def test_an_unknown_format_is_refused(manager: TestClient) -> None:
    answer = manager.get(QUERY + "&format=xml")
    assert answer.status_code == 422
