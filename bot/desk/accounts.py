"""Console accounts (argon2 hashes) and server-side sessions; the cookie holds a random token, the table its HMAC.

A login passes the brake of `login_limits` before its password is checked, and at most a few argon2
checks run at once, in threads, so guessing can neither lock a counselor out for long nor burn the CPU.
"""

from __future__ import annotations

import asyncio
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
from bot.desk.login_limits import ADDRESS, LoginLimiter, LoginLimits, Refusal
from bot.desk.models import Account, DeskSession
from bot.timeutil import Clock, aware
from bot.tokens import same_secret

ROLES = ("counselor", "supervisor", "staff")
# A supervisor is a counselor who may also close cases others claimed.
IMPLIED_ROLES = {"supervisor": frozenset({"counselor"})}
SESSION_COOKIE = "desk_session"
LOGIN_COOKIE = "desk_login"
DEVICE_COOKIE = "desk_device"
DEVICE_LIFETIME = timedelta(days=90)
MIN_PASSWORD = 10
BUSY = "Máy chủ đang bận kiểm tra nhiều lần đăng nhập cùng lúc. Hãy thử lại sau vài giây."
_hasher = PasswordHasher()


def has_role(role: str, wanted: str) -> bool:
    """True when an account of `role` may do what `wanted` may (a supervisor is also a counselor)."""
    return role == wanted or wanted in IMPLIED_ROLES.get(role, frozenset())


def refusal_text(refusal: Refusal) -> str:
    """The Vietnamese message of a login refused by the brake."""
    minutes = max(1, -(-refusal.retry_after // 60))
    if refusal.scope == ADDRESS:
        return f"Bạn đã thử đăng nhập sai quá nhiều lần. Hãy thử lại sau {minutes} phút."
    return (f"Tài khoản này vừa bị thử mật khẩu sai quá nhiều lần. Hãy thử lại sau {minutes} phút, hoặc đăng "
            "nhập trên thiết bị bạn vẫn thường dùng để vào bảng điều khiển.")


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


@dataclass(frozen=True)
class LoginResult:
    """A login attempt: the account, or a refusal by the brake (seconds to wait, message), or neither (wrong)."""

    account: Account | None
    retry_after: int | None = None
    refusal: str | None = None
    device: str | None = None  # the device cookie to set after a success


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
                 secure_cookie: bool = False, limits: LoginLimits | None = None) -> None:
        """`secret` keys the HMACs of session ids, login CSRF tokens, device cookies and brake rows."""
        if not secret:
            raise ValueError("a session secret is required")
        self.engine = engine
        self.Session = session_factory(engine)
        self.secret = secret.encode()
        self.clock = clock
        self.lifetime = timedelta(hours=hours)
        self.secure_cookie = secure_cookie
        self.limits = limits or LoginLimits()
        self.limiter = LoginLimiter(engine, clock, self.secret, self.limits)
        self._verifying: asyncio.Semaphore | None = None
        self._waiting = 0

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
        return bool(nonce) and same_secret(token, self._digest("login", nonce))

    # ---- device cookies: a browser where an account logged in before ------------------------------
    def device_token(self, username: str) -> str:
        """A signed device cookie value for an account, dated now."""
        issued = str(int(self.clock.now().timestamp()))
        return f"{issued}.{self._digest('device', f'{username}:{issued}')}"

    def device_ok(self, token: str | None, username: str) -> bool:
        """True when a device cookie was issued to this account by this desk less than 90 days ago."""
        if not token or len(token) > 120:
            return False
        issued, _, mac = token.partition(".")
        if not (issued.isascii() and issued.isdigit()):
            return False
        age = self.clock.now().timestamp() - int(issued)
        if not -60 <= age <= DEVICE_LIFETIME.total_seconds():
            return False
        return same_secret(mac, self._digest("device", f"{username}:{issued}"))

    # ---- the password check, behind the brake ------------------------------------------------------
    async def login(self, username: str, password: str, address: str, device: str | None = None) -> LoginResult:
        """Check a login from a client address: refused by the brake before argon2, else the account or None.

        The account's own counter is skipped for a browser with that account's device cookie.
        """
        username = (username or "").strip().lower()[:200]
        account_key = None if self.device_ok(device, username) else username
        refusal = await asyncio.to_thread(self.limiter.reserve, address, account_key)
        if refusal is not None:
            return LoginResult(None, refusal.retry_after, refusal_text(refusal))
        if self._verifying is None:
            self._verifying = asyncio.Semaphore(self.limits.concurrent_verifies)
        if self._waiting >= self.limits.verify_queue:
            await asyncio.to_thread(self.limiter.refund, address, account_key)
            return LoginResult(None, 5, BUSY)
        self._waiting += 1
        try:
            async with self._verifying:
                account = await asyncio.to_thread(self._verify, username, password or "")
        finally:
            self._waiting -= 1
        if account is None:
            return LoginResult(None)
        await asyncio.to_thread(self.limiter.refund, address, account_key)
        return LoginResult(account, device=self.device_token(account.username))

    def _verify(self, username: str, password: str) -> Account | None:
        """The account when the password is right (the same argon2 work when the user does not exist)."""
        with self.Session() as s:
            account = s.execute(select(Account).where(Account.username == username, Account.active.is_(True))
                                ).scalar_one_or_none()
        try:
            _hasher.verify(account.password_hash if account else _dummy_hash(), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
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

    def set_device_cookie(self, response: web.StreamResponse, value: str) -> None:
        """Attach the device cookie of the account that just logged in (HttpOnly, SameSite=Strict)."""
        response.set_cookie(DEVICE_COOKIE, value, httponly=True, samesite="Strict", secure=self.secure_cookie,
                            path="/login", max_age=int(DEVICE_LIFETIME.total_seconds()))
