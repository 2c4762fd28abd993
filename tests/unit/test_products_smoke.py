def test_create_then_get(api):
    r = api.post("/api/products", {"name": "Laptop", "price": 999.99, "description": "x", "stock": 10})
    print(r)
    assert r.status == 201
    r2 = api.get("/api/products/1")
    print(r2)
    assert r2.json["price"] == 999.99
