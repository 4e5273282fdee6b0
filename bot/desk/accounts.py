"""Console accounts (argon2 hashes) and server-side sessions; the cookie holds a random token, the table its HMAC."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.db.engine import session_factory
from bot.desk.models import Account, DeskSession
from bot.timeutil import Clock, aware

ROLES = ("counselor", "staff")
SESSION_COOKIE = "desk_session"
LOGIN_COOKIE = "desk_login"
MIN_PASSWORD = 10
_hasher = PasswordHasher()


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist (same work as a real check)."""
    return _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A refused account creation (message is shown to the operator)."""


@dataclass(frozen=True)
class CurrentUser:
    """The logged-in account, as handlers see it."""

    id: int
    username: str
    display_name: str
    role: str
    telegram_user_id: int | None
    csrf_token: str

    @property
    def actor_key(self) -> str:
        """Key used in case history."""
        return f"desk:{self.username}"


def create_account(engine: Engine, username: str, password: str, role: str, display_name: str | None = None,
                   telegram_user_id: int | None = None) -> Account:
    """Create a console account with an argon2 hash; refuses weak passwords and unknown roles."""
    username = username.strip().lower()
    if not username or len(username) > 80 or not all(c.isalnum() or c in "._-" for c in username):
        raise AccountError("Tên đăng nhập chỉ gồm chữ, số và . _ - (tối đa 80 ký tự).")
    if role not in ROLES:
        raise AccountError(f"Vai trò phải là một trong: {', '.join(ROLES)}.")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.")
    if password.lower() in (username, "password", "matkhau123", "1234567890"):
        raise AccountError("Mật khẩu quá dễ đoán.")
    account = Account(username=username, display_name=(display_name or username).strip()[:120], role=role,
                      password_hash=_hasher.hash(password), telegram_user_id=telegram_user_id, active=True)
    try:
        with session_factory(engine).begin() as s:
            s.add(account)
    except IntegrityError as exc:
        raise AccountError("Tên đăng nhập hoặc Telegram ID này đã có tài khoản.") from exc
    return account


def set_password(engine: Engine, username: str, password: str) -> None:
    """Replace an account's password."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.")
    with session_factory(engine).begin() as s:
        account = s.execute(select(Account).where(Account.username == username.strip().lower())).scalar_one_or_none()
        if account is None:
            raise AccountError("Không có tài khoản này.")
        account.password_hash = _hasher.hash(password)
        s.execute(delete(DeskSession).where(DeskSession.account_id == account.id))


class SessionManager:
    """Logins and sessions stored in the project database; the cookie holds a random token."""

    def __init__(self, engine: Engine, secret: str, clock: Clock, hours: float = 12.0,
                 secure_cookie: bool = False) -> None:
        """`secret` keys the HMACs of session ids and login CSRF tokens."""
        if not secret:
            raise ValueError("a session secret is required")
        self.engine = engine
        self.Session = session_factory(engine)
        self.secret = secret.encode()
        self.clock = clock
        self.lifetime = timedelta(hours=hours)
        self.secure_cookie = secure_cookie
        self._failures: dict[str, list[float]] = {}

    def _digest(self, purpose: str, value: str) -> str:
        return hmac.new(self.secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    # ---- login CSRF (before a session exists): a signed double-submit token -----------------------
    def login_csrf(self, request: web.Request) -> tuple[str, str | None]:
        """(token for the form, new cookie value or None when the cookie is fine)."""
        nonce = request.cookies.get(LOGIN_COOKIE)
        fresh = None
        if not nonce or len(nonce) > 100:
            nonce = fresh = secrets.token_urlsafe(24)
        return self._digest("login", nonce), fresh

    def login_csrf_ok(self, request: web.Request, token: str) -> bool:
        """True when the form token matches the login cookie."""
        nonce = request.cookies.get(LOGIN_COOKIE)
        return bool(nonce and token) and hmac.compare_digest(self._digest("login", nonce).encode("utf-8"),
                                                             token.encode("utf-8"))

    # ---- password check with a small brake on guessing --------------------------------------------
    def _throttled(self, username: str) -> bool:
        now = self.clock.now().timestamp()
        recent = [t for t in self._failures.get(username, []) if now - t < 300]
        self._failures[username] = recent
        return len(recent) >= 5

    def authenticate(self, username: str, password: str) -> Account | None:
        """The account when the password is right (constant work when the user does not exist)."""
        username = (username or "").strip().lower()
        if self._throttled(username):
            return None
        with self.Session() as s:
            account = s.execute(select(Account).where(Account.username == username, Account.active.is_(True))
                                ).scalar_one_or_none()
        try:
            _hasher.verify(account.password_hash if account else _dummy_hash(), password or "")
            ok = account is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if not ok:
            self._failures.setdefault(username, []).append(self.clock.now().timestamp())
            return None
        self._failures.pop(username, None)
        if account is not None and _hasher.check_needs_rehash(account.password_hash):
            with self.Session.begin() as s:
                row = s.get(Account, account.id)
                if row is not None:
                    row.password_hash = _hasher.hash(password)
        return account

    def start(self, account: Account) -> tuple[str, str]:
        """Open a session; returns (cookie value, CSRF token)."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self.clock.now()
        with self.Session.begin() as s:
            s.add(DeskSession(id=self._digest("session", token), account_id=account.id, csrf_token=csrf,
                              created_at=now, expires_at=now + self.lifetime))
            row = s.get(Account, account.id)
            if row is not None:
                row.last_login_at = now
            s.execute(delete(DeskSession).where(DeskSession.expires_at < now))
        return token, csrf

    def lookup(self, token: str | None) -> CurrentUser | None:
        """The user of a session cookie, if valid and not expired."""
        if not token or len(token) > 200:
            return None
        now: datetime = self.clock.now()
        with self.Session() as s:
            row = s.execute(select(DeskSession, Account).join(Account, Account.id == DeskSession.account_id)
                            .where(DeskSession.id == self._digest("session", token))).first()
        if row is None:
            return None
        sess, account = row
        if aware(sess.expires_at) <= now or not account.active:
            return None
        return CurrentUser(account.id, account.username, account.display_name, account.role,
                           account.telegram_user_id, sess.csrf_token)

    def end(self, token: str | None) -> None:
        """Log out."""
        if token:
            with self.Session.begin() as s:
                s.execute(delete(DeskSession).where(DeskSession.id == self._digest("session", token)))

    def set_cookie(self, response: web.StreamResponse, token: str) -> None:
        """Attach the session cookie (HttpOnly, SameSite=Lax, Secure behind HTTPS)."""
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Lax", secure=self.secure_cookie,
                            path="/", max_age=int(self.lifetime.total_seconds()))
