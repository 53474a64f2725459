"""Sign-up, login, logout, invitations and password reset through HTTP, mail over real SMTP."""
import time

from sqlalchemy import select

from app.models import AccountMember, ClientMember, Invitation, User
from conftest import PASSWORD, unique


def test_login_page_and_login_lands_consultant_on_portfolio(http, factory):
    w = factory.world()
    page = http.get("/login")
    assert page.status_code == 200 and b'name="email"' in page.data and b'name="password"' in page.data
    resp = http.login(w.consultant.email)
    assert resp.headers["Location"] == "/"
    home = http.get("/")
    assert home.status_code == 200 and w.client.name.encode() in home.data


def test_staff_lands_on_their_own_client(http, factory):
    w = factory.world()
    resp = http.login(w.staff.email)
    assert resp.headers["Location"] == f"/c/{w.client.slug}/"


def test_wrong_password_is_refused_and_keeps_the_email(http, factory):
    user = factory.user()
    resp = http.submit("/login", {"email": user.email, "password": "not-the-password"})
    assert resp.status_code == 401
    body = resp.get_data(as_text=True)
    assert "match an account" in body and user.email in body


def test_login_is_rate_limited(http, factory, app):
    user = factory.user()
    limit = app.config["LOGIN_RATE_LIMIT"]
    for _ in range(limit):
        assert http.submit("/login", {"email": user.email, "password": "wrong-password"}).status_code == 401
    blocked = http.submit("/login", {"email": user.email, "password": PASSWORD})
    assert blocked.status_code == 429 and b"Too many login attempts" in blocked.data


def test_logout_ends_the_session(http, factory):
    w = factory.world()
    http.login(w.owner.email)
    assert http.get("/").status_code == 200
    assert http.logout().status_code == 302
    assert http.get("/").headers["Location"].startswith("/login")


def test_logout_by_get_is_not_allowed(http, factory):
    w = factory.world()
    http.login(w.owner.email)
    assert http.get("/logout").status_code == 405
    assert http.get("/").status_code == 200


def test_remember_me_sets_a_persistent_httponly_cookie(http, factory):
    user = factory.user()
    resp = http.submit("/login", {"email": user.email, "password": PASSWORD, "remember": "y"})
    cookies = resp.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0] and "Expires=" in remember[0]
    session = [c for c in cookies if c.startswith("session=")][0]
    assert "HttpOnly" in session and "SameSite=Lax" in session


def test_forms_without_csrf_token_are_rejected(http, factory):
    user = factory.user()
    resp = http.client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 400 and b"Form expired" in resp.data
    resp = http.client.post("/signup", data={"consultancy": "X", "name": "Y", "email": "a@b.example", "password": PASSWORD})
    assert resp.status_code == 400


def test_htmx_requests_need_the_csrf_header(http, factory):
    w = factory.world()
    http.login(w.owner.email)
    resp = http.client.post(f"/c/{w.client.slug}/people", data={"email": "x@y.example", "role": "staff"},
                            headers={"HX-Request": "true"})
    assert resp.status_code == 400
    token = http.csrf(f"/c/{w.client.slug}/people")
    resp = http.client.post(f"/c/{w.client.slug}/people", data={"email": f"{unique('hx')}@y.example", "role": "staff"},
                            headers={"HX-Request": "true", "X-CSRFToken": token})
    assert resp.status_code == 302


def test_signup_creates_consultancy_with_owner(http, db):
    email = f"{unique('founder')}@consult.example"
    resp = http.submit("/signup", {"consultancy": "Fresh Quality Ltd", "name": "Fay Founder",
                                   "email": email, "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    user = db.session.scalar(select(User).where(User.email == email))
    assert user.password_hash.startswith("$argon2")
    member = db.session.scalar(select(AccountMember).where(AccountMember.user_id == user.id))
    assert member.role == "owner" and member.account.name == "Fresh Quality Ltd"
    assert b"No clients yet" in http.get("/").data


def test_signup_with_taken_email_or_weak_password_says_why_and_keeps_input(http, factory):
    existing = factory.user()
    resp = http.submit("/signup", {"consultancy": "Dup Co", "name": "Dee", "email": existing.email.upper(),
                                   "password": PASSWORD})
    assert resp.status_code == 422 and b"already exists" in resp.data and b"Dup Co" in resp.data
    resp = http.submit("/signup", {"consultancy": "Weak Co", "name": "Wes", "email": f"{unique('w')}@x.example",
                                   "password": "short"})
    assert resp.status_code == 422 and b"at least 10 characters" in resp.data and b"Weak Co" in resp.data


def test_owner_invites_consultant_who_sets_password_and_lands_on_portfolio(http, factory, mailbox, db):
    w = factory.world()
    http.login(w.owner.email)
    email = f"{unique('newconsultant')}@consult.example"
    resp = http.submit("/team", {"email": email, "role": "consultant"})
    assert resp.status_code == 302
    link = mailbox.link_in(mailbox.last_to(email), "/invite/")
    http.logout()
    page = http.get(link)
    assert page.status_code == 200 and email.encode() in page.data
    resp = http.submit(link, {"name": "Nia New", "password": PASSWORD, "confirm": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    user = db.session.scalar(select(User).where(User.email == email))
    assert db.session.get(AccountMember, (w.account.id, user.id)).role == "consultant"
    # Single use: the same link no longer works.
    http.logout()
    assert http.get(link).status_code == 404


def test_client_invitation_lands_staff_in_their_client(http, factory, mailbox, db):
    w = factory.world()
    http.login(w.consultant.email)
    email = f"{unique('staffer')}@client.example"
    assert http.submit(f"/c/{w.client.slug}/people", {"email": email, "role": "staff"}).status_code == 302
    link = mailbox.link_in(mailbox.last_to(email), "/invite/")
    http.logout()
    resp = http.submit(link, {"name": "Sam Staff", "password": PASSWORD, "confirm": PASSWORD})
    assert resp.headers["Location"] == f"/c/{w.client.slug}/"
    user = db.session.scalar(select(User).where(User.email == email))
    assert db.session.get(ClientMember, (w.client.id, user.id)).role == "staff"
    assert http.get(f"/c/{w.client.slug}/").status_code == 200


def test_existing_user_accepts_invitation_by_logging_in(http, factory, mailbox, db):
    w = factory.world()
    other = factory.user("Already Here")
    http.login(w.owner.email)
    http.submit(f"/c/{w.client.slug}/people", {"email": other.email, "role": "auditor"})
    link = mailbox.link_in(mailbox.last_to(other.email), "/invite/")
    http.logout()
    resp = http.get(link)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    http.login(other.email)
    assert http.submit(link, {}).status_code == 302
    assert db.session.get(ClientMember, (w.client.id, other.id)).role == "auditor"


def test_bad_and_expired_invitation_tokens_get_a_clear_404(http, factory, mailbox, db, app):
    assert b"not valid" in http.get("/invite/not-a-real-token").data
    w = factory.world()
    http.login(w.owner.email)
    email = f"{unique('late')}@x.example"
    http.submit("/team", {"email": email, "role": "consultant"})
    link = mailbox.link_in(mailbox.last_to(email), "/invite/")
    inv = db.session.scalar(select(Invitation).where(Invitation.email == email))
    from datetime import datetime, timedelta, timezone

    inv.expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
    db.session.commit()
    http.logout()
    resp = http.get(link)
    assert resp.status_code == 404 and b"expired" in resp.data


def test_invitation_with_bad_email_re_renders_with_message(http, factory):
    w = factory.world()
    http.login(w.owner.email)
    resp = http.submit("/team", {"email": "not-an-email", "role": "consultant"})
    assert resp.status_code == 422 and b"valid email" in resp.data and b"not-an-email" in resp.data


def test_password_reset_by_emailed_link(http, factory, mailbox, db):
    user = factory.user()
    resp = http.submit("/forgot", {"email": user.email})
    assert resp.status_code == 302
    link = mailbox.link_in(mailbox.last_to(user.email), "/reset/")
    new_password = "a-brand-new-passphrase"
    resp = http.submit(link, {"password": new_password, "confirm": new_password})
    assert resp.status_code == 302
    http.logout()
    http.login(user.email, new_password)
    # The link is used up: the login token rotated with the password.
    http.logout()
    assert http.get(link).headers["Location"].endswith("/forgot")


def test_unknown_email_for_reset_gets_the_same_answer_and_no_mail(http, mailbox):
    resp = http.submit("/forgot", {"email": "nobody@nowhere.example"}, follow_redirects=True)
    assert b"If that email belongs to an account" in resp.data
    assert mailbox.to("nobody@nowhere.example") == []


def test_expired_reset_link_says_so(http, factory, mailbox, app):
    user = factory.user()
    http.submit("/forgot", {"email": user.email})
    link = mailbox.link_in(mailbox.last_to(user.email), "/reset/")
    app.config["RESET_HOURS"] = 0
    try:
        time.sleep(1.1)
        resp = http.get(link, follow_redirects=True)
    finally:
        app.config["RESET_HOURS"] = 2
    assert b"expired" in resp.data


def test_open_redirect_after_login_is_ignored(http, factory):
    user = factory.user()
    token = http.csrf("/login")
    resp = http.client.post("/login", data={"email": user.email, "password": PASSWORD,
                                            "next": "https://evil.example/", "csrf_token": token})
    assert resp.headers["Location"] == "/"


def test_every_page_has_a_favicon(http):
    page = http.get("/login").get_data(as_text=True)
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in page
    icon = http.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
