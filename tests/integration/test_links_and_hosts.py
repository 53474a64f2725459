"""Mailed links come from BASE_URL, never from the Host header; untrusted hosts get 400; proxies are
believed only for the configured number of hops; an invitation link never logs anyone out on a GET."""
import pytest
from flask import request
from sqlalchemy import select

from app.models import ClientMember, User
from conftest import PASSWORD, HttpClient, make_config, unique

BASE = "https://isopath.example"


class OnHost:
    """A test client whose every request carries one Host (and whose cookies live on it)."""

    def __init__(self, client, host: str):
        self.client, self.base = client, f"http://{host}"

    def get(self, url, **kw):
        return self.client.get(url, base_url=self.base, **kw)

    def post(self, url, **kw):
        return self.client.post(url, base_url=self.base, **kw)


@pytest.fixture()
def public_app(service_urls, smtp_server, app):
    """The app as deployed at BASE, also serving an internal name (an alias the operator trusts)."""
    from app import create_app
    from app.extensions import db

    controller, _ = smtp_server
    application = create_app(make_config(service_urls, controller.port, BASE_URL=BASE,
                                         TRUSTED_HOSTS=["isopath.example", "isopath-internal.example"]))
    yield application
    with application.app_context():
        db.engine.dispose()


def _mailed_links(message):
    body = message.get_payload(decode=True).decode()
    return [word for word in body.split() if word.startswith(("http://", "https://"))]


def test_reset_link_is_on_base_url_whatever_host_the_request_named(public_app, factory, mailbox):
    user = factory.user()
    http = HttpClient(OnHost(public_app.test_client(), "isopath-internal.example"))
    resp = http.submit("/forgot", {"email": user.email}, headers={"X-Forwarded-Host": "evil.example"})
    assert resp.status_code == 302
    [link] = _mailed_links(mailbox.last_to(user.email))
    assert link.startswith(f"{BASE}/reset/"), link
    # The link works (on the public name).
    assert HttpClient(OnHost(public_app.test_client(), "isopath.example")).get(
        link.removeprefix(BASE)).status_code == 200


def test_invitation_link_is_on_base_url_whatever_host_the_request_named(public_app, factory, mailbox):
    w = factory.world()
    http = HttpClient(OnHost(public_app.test_client(), "isopath-internal.example"))
    http.login(w.owner.email)
    email = f"{unique('invitee')}@x.example"
    assert http.submit("/team", {"email": email, "role": "consultant"}).status_code == 302
    [link] = _mailed_links(mailbox.last_to(email))
    assert link.startswith(f"{BASE}/invite/"), link
    staff = f"{unique('staff')}@x.example"
    assert http.submit(f"/c/{w.client.slug}/people", {"email": staff, "role": "staff"}).status_code == 302
    [link] = _mailed_links(mailbox.last_to(staff))
    assert link.startswith(f"{BASE}/invite/"), link


def test_development_links_default_to_the_local_server(http, factory, mailbox, app):
    assert app.config["BASE_URL"] == "http://127.0.0.1:5000"
    user = factory.user()
    http.submit("/forgot", {"email": user.email}, headers={"Host": "localhost"})
    [link] = _mailed_links(mailbox.last_to(user.email))
    assert link.startswith("http://127.0.0.1:5000/reset/"), link


def test_mailed_links_keep_base_urls_path_and_ignore_the_request(service_urls, app):
    from app import create_app
    from app.accounts import mailed_link
    from app.extensions import db

    mounted = create_app(make_config(service_urls, BASE_URL="https://example.org/isopath"))
    with mounted.test_request_context("/forgot", base_url="http://evil.example:8080/elsewhere"):
        assert mailed_link("auth.reset", token="abc") == "https://example.org/isopath/reset/abc"
    with mounted.app_context():  # and outside any request, as a job would
        assert mailed_link("auth.invitation", token="t-1") == "https://example.org/isopath/invite/t-1"
        db.engine.dispose()


@pytest.mark.parametrize("method,path", [("GET", "/login"), ("GET", "/no-such-page"), ("POST", "/forgot"),
                                         ("GET", "/static/css/app.css"), ("GET", "/healthz")])
def test_an_untrusted_host_gets_400_not_500(app, method, path):
    resp = app.test_client().open(path, method=method, headers={"Host": "evil.example"},
                                  data={"email": "x@y.example"})
    assert resp.status_code == 400
    assert b"not served here" in resp.data


def test_an_untrusted_host_gets_400_for_a_logged_in_user_and_no_mail_leaves(http, factory, mailbox):
    user = factory.user()
    http.login(user.email)
    assert http.get("/", headers={"Host": "evil.example:443"}).status_code == 400
    token = http.csrf("/")
    resp = http.client.post("/forgot", data={"email": user.email, "csrf_token": token},
                            headers={"Host": "evil.example"})
    assert resp.status_code == 400 and mailbox.to(user.email) == []
    assert http.get("/").status_code == 200  # a trusted host still works


def _probe_app(service_urls, hops: int):
    from app import create_app

    application = create_app(make_config(service_urls, PROXY_HOPS=hops))

    @application.get("/_probe")
    def probe():
        return f"{request.remote_addr} {request.scheme}"

    return application


@pytest.mark.parametrize("hops,expected", [
    (0, "127.0.0.1 http"),          # nothing configured: the client's own X-Forwarded-* headers change nothing
    (1, "203.0.113.9 https"),       # one proxy: its own entry is believed, the one before it is not
    (2, "198.51.100.7 https"),
])
def test_forwarded_headers_count_only_for_configured_proxy_hops(service_urls, app, hops, expected):
    from app.extensions import db

    application = _probe_app(service_urls, hops)
    resp = application.test_client().get("/_probe", environ_base={"REMOTE_ADDR": "127.0.0.1"}, headers={
        "X-Forwarded-For": "198.51.100.7, 203.0.113.9", "X-Forwarded-Proto": "https, https"})
    assert resp.get_data(as_text=True) == expected
    with application.app_context():
        db.engine.dispose()


# --- an invitation opened while someone else is logged in -------------------------------------

def _invite(http, w, email, mailbox):
    assert http.submit(f"/c/{w.client.slug}/people", {"email": email, "role": "auditor"}).status_code == 302
    return mailbox.link_in(mailbox.last_to(email), "/invite/")


def test_opening_an_invitation_for_someone_else_asks_and_logs_nobody_out(http, factory, mailbox, db):
    w = factory.world()
    other = factory.user("Already Here")
    http.login(w.owner.email)
    link = _invite(http, w, other.email, mailbox)
    # As an <img src> on any page would: a plain GET.
    page = http.get(link, headers={"Sec-Fetch-Dest": "image"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"You are logged in as <strong>{w.owner.email}</strong>" in text and other.email in text
    assert "Log out and accept" in text and 'href="/"' in text  # "continue" goes back to the portfolio
    assert http.get("/").status_code == 200  # still logged in
    # Logging out needs the form's CSRF token.
    assert http.client.post(link, data={"action": "switch"}).status_code == 400
    assert http.get("/").status_code == 200
    # Accepting as the wrong person is refused without logging anyone out.
    resp = http.submit(link, {})
    assert resp.status_code == 409 and http.get("/").status_code == 200
    assert db.session.get(ClientMember, (w.client.id, other.id)) is None
    # The POSTed choice logs out and comes back to the invitation, which asks the invitee to log in.
    resp = http.submit(link, {"action": "switch"}, form_url=link)
    assert resp.status_code == 302 and resp.headers["Location"] == link
    assert http.get("/").status_code == 302
    resp = http.get(link)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    http.login(other.email)
    assert http.submit(link, {}).status_code == 302
    assert db.session.get(ClientMember, (w.client.id, other.id)).role == "auditor"


def test_a_new_persons_invitation_opened_while_logged_in_asks_first(http, factory, mailbox, db):
    w = factory.world()
    http.login(w.consultant.email)
    email = f"{unique('newbie')}@x.example"
    link = _invite(http, w, email, mailbox)
    page = http.get(link)
    assert page.status_code == 200 and b"Log out and accept" in page.data and b"Set your name" not in page.data
    assert http.get(f"/c/{w.client.slug}/").status_code == 200  # still logged in
    assert http.submit(link, {"action": "switch"}, form_url=link).status_code == 302
    page = http.get(link)
    assert page.status_code == 200 and b"Set your name" in page.data
    resp = http.submit(link, {"name": "Nora New", "password": PASSWORD, "confirm": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/c/{w.client.slug}/"
    user = db.session.scalar(select(User).where(User.email == email))
    assert db.session.get(ClientMember, (w.client.id, user.id)).role == "auditor"
    assert http.get("/").headers["Location"] == f"/c/{w.client.slug}/"  # logged in as the new person
