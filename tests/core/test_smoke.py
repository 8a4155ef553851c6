def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Log in to qm" in response.data


def test_login_and_home(client, auth, people):
    response = auth.login("admin")
    assert response.status_code == 302
    home = client.get("/")
    assert b"Welcome, Admin" in home.data
