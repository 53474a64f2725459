"""A small loopback stand-in for the parts of Stripe's API the app calls, shaped like Stripe's documented
responses (API version 2026-10-28): customers, prices, Checkout sessions, Customer Portal sessions,
subscriptions (list, retrieve, update with prorations, cancel), invoices and the preview of the next invoice
(`POST /v1/invoices/create_preview`, which localstripe has too but without prices or prorations), with
idempotency keys honoured as Stripe does (the same key returns the first response). The app talks to it
through the real `stripe` library.

Tests drive what Stripe would do on its side (a customer paying at Checkout, a card declined, a change in the
dashboard) with the helper methods, and sign the events it would send with `sign`.
"""
from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import stripe

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_test{next(_ids):06d}{secrets.token_hex(4)}"


class StripeStandIn:
    running: list["StripeStandIn"] = []  # the one the test session started (tests/conftest.py)

    def __init__(self):
        self.lock = threading.Lock()
        self.customers: dict[str, dict] = {}
        self.prices: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.invoices: dict[str, dict] = {}
        self.idempotent: dict[str, tuple[int, dict]] = {}
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, idempotency key)
        self.forms: list[tuple[str, str, dict]] = []  # (method, path, form) of every request, in order
        self.versions: set[str | None] = set()  # the Stripe-Version headers seen
        self.fail_next = 0  # answer the next N requests with Stripe's 500 api_error
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "StripeStandIn":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            for store in (self.customers, self.sessions, self.subscriptions, self.invoices, self.idempotent):
                store.clear()
            self.requests.clear()
            self.forms.clear()
            self.versions.clear()
            self.fail_next = 0

    # --- what Stripe's side does -----------------------------------------------------------

    def price(self, plan: str, interval: str, amount: int) -> str:
        pid = f"price_{plan}_{interval}"
        self.prices[pid] = {"id": pid, "object": "price", "active": True, "currency": "eur", "unit_amount": amount,
                            "recurring": {"interval": interval, "interval_count": 1, "usage_type": "licensed"},
                            "lookup_key": f"{plan}:{interval}", "product": f"prod_{plan}", "type": "recurring"}
        return pid

    def subscription(self, customer: str, price: str, quantity: int, status: str = "active",
                     created: int | None = None) -> dict:
        now = int(time.time())
        sub = {"id": new_id("sub"), "object": "subscription", "customer": customer, "status": status,
               "created": created or now, "cancel_at_period_end": False, "canceled_at": None, "trial_end": None,
               "metadata": {}, "livemode": False,
               "items": {"object": "list", "has_more": False, "url": "/v1/subscription_items", "data": [
                   {"id": new_id("si"), "object": "subscription_item", "quantity": quantity,
                    "price": self.prices[price], "current_period_start": now,
                    "current_period_end": now + 30 * 86400}]}}
        self.subscriptions[sub["id"]] = sub
        self.invoice(customer, sub, "paid" if status == "active" else "open")
        return sub

    def invoice(self, customer: str, sub: dict, status: str) -> dict:
        item = sub["items"]["data"][0]
        inv = {"id": new_id("in"), "object": "invoice", "customer": customer, "subscription": sub["id"],
               "status": status, "number": f"ISO-{len(self.invoices) + 1:04d}", "currency": "eur",
               "total": item["price"]["unit_amount"] * item["quantity"], "created": int(time.time()),
               "hosted_invoice_url": f"https://invoice.stripe.com/i/{new_id('inv')}", "livemode": False}
        self.invoices[inv["id"]] = inv
        return inv

    def pay_checkout(self, session_id: str, status: str = "active") -> dict:
        """The customer paid at Checkout: the subscription exists; returns the completed session."""
        session = self.sessions[session_id]
        sub = self.subscription(session["customer"], session["_price"], session["_quantity"], status)
        session.update(status="complete", payment_status="paid", subscription=sub["id"])
        return self.public(session)

    def set(self, sub_id: str, **changes) -> dict:
        sub = self.subscriptions[sub_id]
        item = sub["items"]["data"][0]
        if "quantity" in changes:
            item["quantity"] = changes.pop("quantity")
        if "price" in changes:
            item["price"] = self.prices[changes.pop("price")]
        sub.update(changes)
        return sub

    def delete(self, sub_id: str) -> None:
        """The subscription is gone at Stripe altogether (its customer deleted in the dashboard, say)."""
        self.subscriptions.pop(sub_id)

    def preview(self, sub: dict) -> dict:
        """The next invoice as Stripe previews it: the renewal of each item plus the prorations pending."""
        item = sub["items"]["data"][0]
        start, end = item["current_period_start"], item["current_period_end"]
        price = item["price"]
        renewal = {"id": new_id("il"), "object": "line_item", "currency": "eur",
                   "amount": price["unit_amount"] * item["quantity"], "quantity": item["quantity"],
                   "description": f"{item['quantity']} × {price['product']} (at {price['unit_amount'] / 100:.2f} / "
                                  f"{price['recurring']['interval']})",
                   "period": {"start": end, "end": end + (end - start)},
                   "parent": {"type": "subscription_item_details", "subscription_item_details": {
                       "subscription": sub["id"], "subscription_item": item["id"], "proration": False}},
                   "pricing": {"type": "price_details", "price_details": {"price": price["id"],
                                                                          "product": price["product"]},
                               "unit_amount_decimal": str(price["unit_amount"])}}
        lines = sub.get("_prorations", []) + [renewal]
        total = sum(line["amount"] for line in lines)
        return {"id": f"upcoming_{new_id('in')}", "object": "invoice", "customer": sub["customer"],
                "status": "draft", "currency": "eur", "subtotal": total, "total": total, "amount_due": max(0, total),
                "amount_paid": 0, "amount_remaining": max(0, total), "created": int(time.time()),
                "period_start": start, "period_end": end, "next_payment_attempt": end + 3600,
                "parent": {"type": "subscription_details", "subscription_details": {"subscription": sub["id"]}},
                "lines": _list(f"/v1/invoices/upcoming/lines", lines), "livemode": False}

    def _prorate(self, sub: dict, old: dict, new: dict, quantity_old: int, quantity_new: int) -> None:
        item = sub["items"]["data"][0]
        now, start, end = int(time.time()), item["current_period_start"], item["current_period_end"]
        left = max(0.0, (end - now) / max(1, end - start))
        for price, quantity, sign, words in ((old, quantity_old, -1, "Unused time on"),
                                             (new, quantity_new, 1, "Remaining time on")):
            sub.setdefault("_prorations", []).append({
                "id": new_id("il"), "object": "line_item", "currency": "eur", "quantity": quantity,
                "amount": sign * round(price["unit_amount"] * quantity * left),
                "description": f"{words} {quantity} × {price['product']} after {time.strftime('%d %b %Y')}",
                "period": {"start": now, "end": end},
                "parent": {"type": "subscription_item_details", "subscription_item_details": {
                    "subscription": sub["id"], "subscription_item": item["id"], "proration": True}}})

    @staticmethod
    def public(obj: dict) -> dict:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    @staticmethod
    def event(type_: str, obj: dict, event_id: str | None = None) -> dict:
        return {"id": event_id or new_id("evt"), "object": "event", "type": type_, "api_version": "2026-10-28.endive",
                "created": int(time.time()), "livemode": False, "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None}, "data": {"object": StripeStandIn.public(obj)}}

    @staticmethod
    def sign(event: dict, secret: str, timestamp: int | None = None) -> tuple[bytes, str]:
        payload = json.dumps(event)
        return payload.encode(), stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)

    # --- the HTTP side -------------------------------------------------------------------------

    def _answer(self, method: str, path: str, form: dict, query: dict) -> tuple[int, dict]:
        parts = path.strip("/").split("/")[1:]  # after "v1"
        if parts == ["customers"] and method == "POST":
            cus = {"id": new_id("cus"), "object": "customer", "name": form.get("name"), "email": form.get("email"),
                   "metadata": {"account_id": form.get("metadata[account_id]")}, "livemode": False}
            self.customers[cus["id"]] = cus
            return 200, cus
        if parts[:1] == ["customers"] and len(parts) == 2 and parts[1] in self.customers:
            return 200, self.customers[parts[1]]
        if parts[:1] == ["prices"] and len(parts) == 2 and parts[1] in self.prices:
            return 200, self.prices[parts[1]]
        if parts == ["checkout", "sessions"] and method == "POST":
            price = form.get("line_items[0][price]")
            if price not in self.prices or form.get("customer") not in self.customers:
                return 400, _error("invalid_request_error", "No such price or customer")
            sid = new_id("cs")
            session = {"id": sid, "object": "checkout.session", "mode": form.get("mode"), "status": "open",
                       "customer": form.get("customer"), "client_reference_id": form.get("client_reference_id"),
                       "payment_status": "unpaid", "subscription": None,
                       "success_url": form.get("success_url"), "cancel_url": form.get("cancel_url"),
                       "metadata": {"account_id": form.get("metadata[account_id]")},
                       "url": f"https://checkout.stripe.com/c/pay/{sid}", "livemode": False,
                       "_price": price, "_quantity": int(form.get("line_items[0][quantity]") or 1)}
            self.sessions[sid] = session
            return 200, self.public(session)
        if parts == ["billing_portal", "sessions"] and method == "POST":
            if form.get("customer") not in self.customers:
                return 400, _error("invalid_request_error", "No such customer")
            pid = new_id("bps")
            return 200, {"id": pid, "object": "billing_portal.session", "customer": form["customer"],
                         "return_url": form.get("return_url"), "url": f"https://billing.stripe.com/p/session/{pid}",
                         "livemode": False}
        if parts == ["subscriptions"] and method == "GET":
            found = [s for s in self.subscriptions.values() if s["customer"] == query.get("customer")
                     and (query.get("status") == "all" or s["status"] not in ("canceled", "incomplete_expired"))]
            return 200, _list("/v1/subscriptions", [self.public(s) for s in sorted(found, key=lambda s: -s["created"])])
        if parts[:1] == ["subscriptions"] and len(parts) == 2 and parts[1] in self.subscriptions:
            sub = self.subscriptions[parts[1]]
            if method == "POST":
                item = sub["items"]["data"][0]
                old, quantity_old = item["price"], item["quantity"]
                if "items[0][price]" in form and form["items[0][price]"] not in self.prices:
                    return 400, _error("invalid_request_error", f"No such price: '{form['items[0][price]']}'")
                if "items[0][quantity]" in form:
                    item["quantity"] = int(form["items[0][quantity]"])
                if "items[0][price]" in form:
                    item["price"] = self.prices[form["items[0][price]"]]
                if form.get("proration_behavior", "create_prorations") == "create_prorations" and (
                        item["price"]["id"] != old["id"] or item["quantity"] != quantity_old):
                    self._prorate(sub, old, item["price"], quantity_old, item["quantity"])
            elif method == "DELETE":
                sub.update(status="canceled", canceled_at=int(time.time()))
            return 200, self.public(sub)
        if parts == ["invoices", "create_preview"] and method == "POST":
            sub = self.subscriptions.get(form.get("subscription") or "")
            if sub is None or sub["customer"] != form.get("customer") or sub["status"] in ("canceled",
                                                                                        "incomplete_expired"):
                return 404, _error("invalid_request_error", "No upcoming invoices for customer")
            return 200, self.preview(sub)
        if parts == ["invoices"] and method == "GET":
            found = [i for i in self.invoices.values() if i["customer"] == query.get("customer")]
            return 200, _list("/v1/invoices", sorted(found, key=lambda i: -i["created"]))
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {path})")

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _serve(self, method):
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form, query = dict(parse_qsl(body)), dict(parse_qsl(url.query))
                key = self.headers.get("Idempotency-Key")
                with standin.lock:
                    standin.requests.append((method, url.path, key))
                    standin.forms.append((method, url.path, form))
                    standin.versions.add(self.headers.get("Stripe-Version"))
                    if standin.fail_next:
                        standin.fail_next -= 1
                        status, answer = 500, _error("api_error", "Something went wrong on Stripe's end.")
                    elif key and key in standin.idempotent:
                        status, answer = standin.idempotent[key]
                    else:
                        status, answer = standin._answer(method, url.path, form, query)
                        if key and method == "POST":
                            standin.idempotent[key] = (status, answer)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", new_id("req"))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def do_DELETE(self):
                self._serve("DELETE")

        return Handler


def _list(url: str, data: list) -> dict:
    return {"object": "list", "url": url, "has_more": False, "data": data}


def _error(kind: str, message: str) -> dict:
    return {"error": {"type": kind, "message": message}}
