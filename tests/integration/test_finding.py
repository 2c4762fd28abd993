"""Finding things (issue 23): strict query strings, customers by email, name prefixes, order
dates, newest first, GET /api/me and createdBy=me; every filter combination from an index or a 400."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.support.apigw import build_event, functions, invoke, route

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
ORDER = {"customerId": 1, "items": [{"productId": 1, "quantity": 1}]}


def _query_parameters(path: str) -> list[dict]:
    return [p for p in DOCUMENT["paths"][path]["get"].get("parameters", []) if p["in"] == "query"]


GET_ROUTES = sorted(fn.route for fn in functions() if fn.method == "GET")
LISTS = [r for r in GET_ROUTES if not r.endswith("{id}") and r != "/api/me" and "reports" not in r]
SAMPLE = {
    "limit": "5",
    "cursor": "",
    "q": "a",
    "email": "a@example.com",
    "customerId": "1",
    "createdBy": "me",
    "from": "2026-01-01",
    "to": "2027-01-01",
    "order": "desc",
    "threshold": "3",
}


def _sample(path: str, parameter: dict) -> str:
    if parameter["name"] in SAMPLE and not (path == "/api/reports/sales" and parameter["name"] in ("from", "to")):
        return SAMPLE[parameter["name"]]
    schema = parameter["schema"]
    options = schema.get("anyOf", [schema])
    for option in options:
        if "$ref" in option:
            option = DOCUMENT["components"]["schemas"][option["$ref"].rsplit("/", 1)[1]]
        if "enum" in option:
            return str(option["enum"][0])
    return {"from": "2026-01-01", "to": "2026-01-31"}[parameter["name"]]


def ids(reply) -> list[int]:
    assert reply.status == 200, reply.raw
    return [e["id"] for e in reply.json]


def every_page(api, path: str, **query) -> list[list[int]]:
    """The ids of every page of GET `path`, following the Link headers (a list that never ends,
    say a Link that leads back to the first page, fails instead of hanging)."""
    pages, query = [], {k: str(v) for k, v in query.items()}
    for _ in range(50):
        r = api.get(path, query=query)
        pages.append(ids(r))
        link = r.header("Link")
        if not link:
            return pages
        target = urlparse(link[1 : link.index(">")])
        assert target.path == path
        query = {k: v[0] for k, v in parse_qs(target.query).items()}
    pytest.fail(f"GET {path}: still a next page after 50 pages: {pages[:3]} ...")


# ---------------------------------------------------------------- strict query strings
@pytest.mark.parametrize("path", GET_ROUTES)
def test_an_unknown_query_parameter_is_400_naming_it_and_the_accepted_ones(api, path):
    r = api.get(path.replace("{id}", "1"), query={"name": "x", "limit": "2"} if path in LISTS else {"name": "x"})
    assert r.status == 400, r.raw
    assert r.header("Content-Type") == "application/problem+json"
    assert [e["field"] for e in r.json["errors"]] == ["name"]
    documented = [p["name"] for p in _query_parameters(path)]
    accepted = ", ".join(sorted(documented)) if documented else "none"
    assert f"accepts: {accepted}" in r.json["detail"]
    assert r.json["errors"][0]["type"] == "unknown_parameter"


def test_several_unknown_parameters_are_all_named(api):
    r = api.get("/api/customers", query={"name": "x", "sort": "name"})
    assert r.status == 400 and sorted(e["field"] for e in r.json["errors"]) == ["name", "sort"]


@pytest.mark.parametrize(
    ("path", "name"), [(p, q["name"]) for p in GET_ROUTES for q in _query_parameters(p)], ids=lambda v: str(v)
)
def test_each_documented_parameter_is_accepted(api, path, name):
    assert api.post("/api/products", {"name": "P", "price": 2, "stock": 5}).status == 201
    parameter = next(q for q in _query_parameters(path) if q["name"] == name)
    r = api.get(path.replace("{id}", "1"), query={name: _sample(path, parameter)})
    assert r.status == 200, r.raw


# ---------------------------------------------------------------- customers by email
def test_a_customer_is_found_by_email_whatever_the_case_of_its_ascii_letters(api):
    assert api.post("/api/customers", {"name": "Ann", "email": "Ann.Lee@Example.com"}).status == 201
    assert api.post("/api/customers", {"name": "Bob", "email": "bob@example.com"}).status == 201
    assert api.post("/api/customers", {"name": "Jörg", "email": "jörg@example.com"}).status == 201
    for spelling in ("ann.lee@example.com", "ANN.LEE@EXAMPLE.COM", "Ann.Lee@Example.com"):
        assert ids(api.get("/api/customers", query={"email": spelling})) == [1]
    assert ids(api.get("/api/customers", query={"email": "JÖRG@example.com"})) == []  # no folding beyond ASCII
    assert ids(api.get("/api/customers", query={"email": "JöRG@EXAMPLE.com"})) == [3]
    assert ids(api.get("/api/customers", query={"email": "nobody@example.com"})) == []
    assert api.post("/api/customers/1/erasure").status == 200
    assert ids(api.get("/api/customers", query={"email": "ann.lee@example.com"})) == []


def test_email_and_q_do_not_combine(api):
    r = api.get("/api/customers", query={"email": "a@example.com", "q": "a"})
    assert r.status == 400 and "Supported" in r.json["detail"]


# ---------------------------------------------------------------- name prefixes
NAMES = ["émilie", "Zoë", "ÉMIL", "Straße", "Émile Zola", "STRASSE", "Emil", "strand"]


@pytest.fixture(params=["products", "customers"])
def named(api, request):
    """Entities 1..8 of one kind, called NAMES."""
    kind = request.param
    for i, name in enumerate(NAMES):
        body = {"name": name, "price": 1} if kind == "products" else {"name": name, "email": f"n{i}@example.com"}
        assert api.post(f"/api/{kind}", body).status == 201
    return api, f"/api/{kind}"


def test_a_name_prefix_finds_names_in_any_case_in_name_order_across_pages(named):
    api, path = named
    # "émil" (NFC) and "e\u0301mil" (NFD) are one prefix; É and é fold together, E stays apart
    assert every_page(api, path, q="ÉMI", limit=1) == [[3], [5], [1]]
    assert every_page(api, path, q="e\u0301mil", limit=2) == [[3, 5], [1]]
    assert every_page(api, path, q="emil") == [[7]]
    # casefold: ß is ss, so "strass" finds both spellings, and "stra" all three, in folded order
    assert every_page(api, path, q="STRASS") == [[4, 6]]  # one folded name: then by id
    assert every_page(api, path, q="stra", limit=2) == [[8, 4], [6]]  # "strand" < "strasse"
    assert every_page(api, path, q="stran") == [[8]]
    assert every_page(api, path, q="zoË") == [[2]]
    assert every_page(api, path, q="ÉMI", order="desc", limit=2) == [[1, 5], [3]]
    assert every_page(api, path, q="x") == [[]]


def test_a_renamed_entity_moves_in_the_name_order(named):
    api, path = named
    assert api.put(f"{path}/2", {"name": "Émilia"}).status == 200
    assert every_page(api, path, q="émi") == [[3, 5, 2, 1]]
    assert every_page(api, path, q="zo") == [[]]


@pytest.mark.parametrize("q", ["", "x" * 201])
def test_a_prefix_shorter_than_one_character_or_longer_than_a_name_is_400(api, q):
    for path in ("/api/products", "/api/customers"):
        r = api.get(path, query={"q": q})
        assert r.status == 400, r.raw
        assert [e["field"] for e in r.json["errors"]] == ["q"]
    assert api.get("/api/products", query={"q": "x" * 200}).status == 200


@pytest.mark.parametrize("text", ["a\x00", "a\u202egpj", "a\nb"])
def test_q_and_email_follow_the_text_rule(api, text):
    for path, name in (("/api/products", "q"), ("/api/customers", "q"), ("/api/customers", "email")):
        r = api.get(path, query={name: text})
        assert r.status == 400, r.raw
        assert [(e["field"], e["type"]) for e in r.json["errors"]] == [(name, "text_forbidden_character")]


def test_q_searches_one_product_status_and_refuses_all(api):
    for name in ("Lamp", "Lantern"):
        assert api.post("/api/products", {"name": name, "price": 1}).status == 201
    assert api.put("/api/products/1", {"status": "ARCHIVED"}).status == 200
    assert ids(api.get("/api/products", query={"q": "la"})) == [2]
    assert ids(api.get("/api/products", query={"q": "la", "status": "ARCHIVED"})) == [1]
    r = api.get("/api/products", query={"q": "la", "status": "ALL"})
    assert r.status == 400 and "status=ARCHIVED" in r.json["detail"]


def test_an_erased_customer_leaves_the_name_search(api):
    assert api.post("/api/customers", {"name": "Ann", "email": "ann@example.com"}).status == 201
    assert api.post("/api/customers/1/erasure").status == 200
    assert ids(api.get("/api/customers", query={"q": "ann"})) == []


# ---------------------------------------------------------------- newest first
@pytest.mark.parametrize("path", ["/api/products", "/api/customers"])
def test_desc_lists_newest_first_across_pages(api, path):
    for i in range(5):
        body = {"name": f"N{i}", "price": 1} if "products" in path else {"name": f"N{i}", "email": f"d{i}@example.com"}
        assert api.post(path, body).status == 201
    assert every_page(api, path, order="desc", limit=2) == [[5, 4], [3, 2], [1]]
    assert every_page(api, path, limit=2) == [[1, 2], [3, 4], [5]]


def test_order_desc_is_bound_into_the_cursor(api):
    for i in range(3):
        assert api.post("/api/products", {"name": f"N{i}", "price": 1}).status == 201
    first = api.get("/api/products", query={"order": "desc", "limit": 1})
    cursor = parse_qs(urlparse(first.header("Link")[1:-13]).query)["cursor"][0]
    assert api.get("/api/products", query={"limit": 1, "cursor": cursor}).status == 400


def test_stock_history_in_both_orders(api):
    assert api.post("/api/products", {"name": "P", "price": 1, "stock": 5}).status == 201
    for delta in (1, 2, 3):
        assert api.post("/api/products/1/stock-adjustments", {"delta": delta, "reason": "r"}).status == 200
    path = "/api/products/1/stock-adjustments"
    deltas = [a["delta"] for a in api.get(path).json]
    assert deltas == [3, 2, 1]
    pages = []
    query = {"order": "asc", "limit": "2"}
    while True:
        r = api.get(path, query=query)
        pages.append([a["delta"] for a in r.json])
        if not r.header("Link"):
            break
        link = r.header("Link")
        query = {k: v[0] for k, v in parse_qs(urlparse(link[1 : link.index(">")]).query).items()}
    assert pages == [[1, 2], [3]]


# ---------------------------------------------------------------- orders: dates, me, combinations
def _stock_the_shop(api):
    assert api.post("/api/products", {"name": "P", "price": 2, "stock": 100}).status == 201
    assert api.post("/api/customers", {"name": "C", "email": "c@example.com"}).status == 201
    assert api.post("/api/customers", {"name": "D", "email": "d@example.com"}).status == 201
    return api


@pytest.fixture
def shop(api):
    return _stock_the_shop(api)


def _placed_at(cloud, order_id: int, when: str) -> None:
    cloud.dynamodb.update_item(
        TableName=cloud.tables["OrdersTable"],
        Key={"pk": {"S": f"ORDER#{order_id}"}},
        UpdateExpression="SET createdAt = :t",
        ExpressionAttributeValues={":t": {"S": when}},
    )


@pytest.fixture
def dated(api, cloud, prepared):
    """Orders 1..4 placed just before midnight, at midnight, later that day and the next midnight
    (placed through the workflow once per test process, and put back for each test: `prepared`)."""

    def build():
        shop = _stock_the_shop(api)
        times = ["2026-12-06T23:59:59.999Z", "2026-12-07T00:00:00.000Z", "2026-12-07T13:00:00.000Z",
                 "2026-12-08T00:00:00.000Z"]  # fmt: skip
        for i, when in enumerate(times, start=1):
            body = {**ORDER, "customerId": 1 + i % 2}
            assert shop.post("/api/orders", body, user="sam" if i != 3 else "sue", role="sales").status == 201
            _placed_at(cloud, i, when)

    prepared("test_finding.dated", build)
    return api


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"to": "2026-12-07"}, [1]),
        ({"from": "2026-12-07"}, [2, 3, 4]),
        ({"from": "2026-12-07", "to": "2026-12-08"}, [2, 3]),
        ({"from": "2026-12-07T00:00:00Z", "to": "2026-12-08T00:00:00Z"}, [2, 3]),
        ({"from": "2026-12-06T23:59:59.999Z", "to": "2026-12-07T00:00:00.000Z"}, [1]),
        ({"from": "2026-12-06T23:59:59.9991Z"}, [2, 3, 4]),  # rounded up to the millisecond
        ({"from": "2026-12-07T01:00:00+01:00"}, [2, 3, 4]),  # an offset: that is midnight UTC
        ({"from": "2026-12-07T00:00:00"}, [2, 3, 4]),  # no offset: UTC
        ({"from": "2026-12-07", "to": "2026-12-07"}, []),
        ({"from": "2026-12-07", "order": "desc"}, [4, 3, 2]),
        ({"from": "2026-12-07", "customerId": "1"}, [2, 4]),
        ({"to": "2026-12-08", "customerId": "2"}, [1, 3]),
        ({"from": "2026-12-07", "createdBy": "sam"}, [2, 4]),
        ({"to": "2026-12-07T13:00:00Z", "createdBy": "sam", "customerId": "2"}, [1]),
        ({"from": "2026-12-07", "status": "CONFIRMED"}, [2, 3, 4]),
        ({"status": "CONFIRMED", "order": "desc"}, [4, 3, 2, 1]),
    ],
)
def test_from_is_included_and_to_excluded_and_a_bare_date_is_midnight_utc(dated, query, expected):
    assert [i for page in every_page(dated, "/api/orders", limit=2, **query) for i in page] == expected


def test_without_dates_a_list_is_in_id_order_with_them_or_status_alone_in_placement_order(shop, cloud):
    """Ids and placement times disagree when placements overlap (an id is given out before the
    workflow stores the order): each list answers in its documented order (docs/finding.md),
    and each filter next to `customerId` leaves out the orders it does not match."""
    placed = {1: ("sam", "2026-12-07T12:00:00.000Z"), 2: ("sue", "2026-12-07T10:00:00.000Z"), 3: ("sam", "2026-12-07T11:00:00.000Z")}  # fmt: skip
    for i, (user, when) in placed.items():
        assert shop.post("/api/orders", ORDER, user=user, role="sales").status == 201
        _placed_at(cloud, i, when)
    assert shop.put("/api/orders/3", {"status": "CANCELLED"}).status == 200
    for query, expected in [
        ({}, [1, 2, 3]),
        ({"order": "desc"}, [3, 2, 1]),
        ({"customerId": "1"}, [1, 2, 3]),
        ({"createdBy": "sam"}, [1, 3]),
        ({"customerId": "1", "createdBy": "sam"}, [1, 3]),
        ({"customerId": "1", "status": "CONFIRMED"}, [1, 2]),
        ({"customerId": "1", "createdBy": "sam", "status": "CONFIRMED"}, [1]),
        ({"customerId": "1", "createdBy": "sue", "status": "CONFIRMED"}, [2]),
        # in placement order: 2 (10:00), 3 (11:00), 1 (12:00)
        ({"from": "2026-12-07"}, [2, 3, 1]),
        ({"from": "2026-12-07", "order": "desc"}, [1, 3, 2]),
        ({"to": "2026-12-08", "customerId": "1"}, [2, 3, 1]),
        ({"from": "2026-12-07", "createdBy": "sam"}, [3, 1]),
        ({"status": "CONFIRMED"}, [2, 1]),
        ({"status": "CONFIRMED", "order": "desc"}, [1, 2]),
    ]:
        assert ids(shop.get("/api/orders", query=query)) == expected, query


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"from": "2026-02-30"}, "from"),  # the pattern lets it through, no calendar has it
        ({"to": "0001-01-01"}, "to"),  # nothing is before it
        ({"from": "9999-12-31T23:00:00-05:00"}, "from"),  # after year 9999 in UTC
        ({"from": "2026-12-08", "to": "2026-12-07"}, None),
    ],
)
def test_bad_dates_are_400(dated, query, field):
    r = dated.get("/api/orders", query=query)
    assert r.status == 400, r.raw
    if field:
        assert [e["field"] for e in r.json["errors"]] == [field]


def test_orders_desc_across_pages(shop):
    for _ in range(5):
        assert shop.post("/api/orders", ORDER).status == 201
    assert every_page(shop, "/api/orders", order="desc", limit=2) == [[5, 4], [3, 2], [1]]


def test_created_by_me_is_the_callers_orders_and_its_link_follows(shop):
    for user in ("sam", "sue", "sam", "sam"):
        assert shop.post("/api/orders", ORDER, role="sales", user=user).status == 201
    pages = []
    query = {"createdBy": "me", "limit": "2"}
    for _ in range(5):
        r = shop.get("/api/orders", query=query, role="sales", user="sam")
        pages.append(ids(r))
        if not r.header("Link"):
            break
        link = r.header("Link")
        assert "createdBy=me" in link
        query = {k: v[0] for k, v in parse_qs(urlparse(link[1 : link.index(">")]).query).items()}
    assert pages == [[1, 3], [4]]
    assert ids(shop.get("/api/orders", query={"createdBy": "me"}, role="sales", user="sue")) == [2]


def test_created_by_with_status_has_no_index_and_is_refused(shop):
    r = shop.get("/api/orders", query={"createdBy": "sam", "status": "CONFIRMED"})
    assert r.status == 400
    assert "Supported: at most one of customerId, createdBy, status" in r.json["detail"]


# ---------------------------------------------------------------- me
@pytest.mark.parametrize("role", ["admin", "sales", "admin sales"])
def test_me_is_the_caller_from_the_token(api, role):
    r = api.get("/api/me", role=role, user="sam")
    assert r.status == 200, r.raw
    assert r.json == {"sub": "sam", "username": "sam", "email": None, "groups": sorted(role.split())}


def test_me_carries_the_tokens_email_when_it_has_one():
    fn, params = route("GET", "/api/me")
    event = build_event(fn, "/api/me", params, role="sales", user="ann")
    event["requestContext"]["authorizer"]["jwt"]["claims"]["email"] = "ann@example.com"
    reply = invoke(fn, event)
    assert reply["statusCode"] == 200
    assert json.loads(reply["body"])["email"] == "ann@example.com"


def test_me_without_a_role_is_403(api):
    assert api.get("/api/me", role="").status == 403
