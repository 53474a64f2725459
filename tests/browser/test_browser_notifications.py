"""The notifications page, its settings and the unsubscribe page in a browser: readable, no serious
accessibility violation, and marking read works without JavaScript's help."""
import os

import pytest
from sqlalchemy import select

from app.extensions import db
from app import clock
from app.models import Notification, RemindersSent, User
from app.notify.outbox import unsubscribe_token

from .conftest import SCREENSHOTS, log_in
from .test_browser_accessibility import _serious

pytestmark = pytest.mark.browser
CONSULTANT = "consultant@northwind.example"


def _seed(app) -> None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == CONSULTANT))
        for text in ("Anna Admin asked you to review the Initial audit (gap analysis) gate of Acme Logistics.",
                     "Ben Staff assigned you the task “Write the quality policy” at Northwind Foods."):
            db.session.add(Notification(user_id=user.id, kind="gate_review_requested", message=text, link="/my-work"))
        db.session.commit()


def test_notifications_and_their_settings_in_a_browser(app, page):
    _seed(app)
    log_in(page, CONSULTANT)
    page.wait_for_load_state()
    page.goto("/notifications")
    assert page.locator("li.notification.unread").count() >= 2
    assert _serious(page) == []
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, "notifications.png"), full_page=True)
    page.click("text=Mark all as read")
    page.wait_for_url("**/notifications")
    assert page.locator("li.notification.unread").count() == 0
    assert page.locator(".topnav a[href='/notifications'] .nav-count").count() == 0

    page.goto("/settings/notifications")
    assert _serious(page) == []
    page.screenshot(path=os.path.join(SCREENSHOTS, "notification-settings.png"), full_page=True)
    page.check("input[name=task_due][value=off]")
    page.select_option("#time_zone", "Europe/Berlin")
    page.click("text=Save settings")
    page.wait_for_url("**/settings/notifications")
    assert page.locator("input[name=task_due][value=off]").is_checked()
    assert page.locator("input[name=gate_sent_back][value=off]").is_disabled()


def test_the_unsubscribe_page_without_login(app, page):
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.email == CONSULTANT))
        token = unsubscribe_token(uid, "task_overdue")
    page.goto(f"/unsubscribe/{token}")
    assert page.locator("h1").inner_text() == "Stop these mails?"
    assert _serious(page) == []
    page.screenshot(path=os.path.join(SCREENSHOTS, "unsubscribe.png"), full_page=True)
    page.click("text=Unsubscribe")
    assert page.locator("h1").inner_text() == "You're unsubscribed"


def test_the_owners_reminders_page_and_a_clients_working_days_in_a_browser(app, page):
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == "owner@northwind.example"))
        db.session.add(RemindersSent(key=f"task_due:browser/{owner.id}:d7:{owner.id}", kind="task_due",
                                     user_id=owner.id, client_id=None, to_email=owner.email,
                                     subject="A refused reminder with a long subject to wrap on a phone",
                                     body_text="x", body_html="x", attempts=1, failed_at=clock.now(),
                                     error="550 5.1.1 The mailbox does not exist here"))
        db.session.commit()
    log_in(page, "owner@northwind.example")
    page.wait_for_load_state()
    for path, shot in (("/reminders", "reminders"), ("/c/acme-logistics/settings#calendar", "client-calendar")):
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(path)
        assert _serious(page) == []
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{shot}.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone ({width}px)"
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{shot}-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/reminders")
    page.fill("#lead_days", "10, 2")
    page.click("text=Save reminders")
    page.wait_for_url("**/reminders")
    assert page.locator("#lead_days").input_value() == "10, 2"
