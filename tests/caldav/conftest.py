"""A live server for real CalDAV clients, and accounts with app passwords."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from tests.activity.conftest import live_url
from tests.conftest import Account

__all__ = ["live_url"]


@dataclass
class DavAccount:
    account: Account
    password: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.account.email, self.password)


async def app_password(client: httpx.AsyncClient, account: Account, name: str = "Phone") -> str:
    response = await client.post(
        "/api/auth/app-passwords", json={"name": name}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    password: str = response.json()["password"]
    return password


@pytest.fixture
async def dav_alice(client: httpx.AsyncClient, alice: Account) -> DavAccount:
    return DavAccount(alice, await app_password(client, alice))


@pytest.fixture
async def dav_bob(client: httpx.AsyncClient, bob: Account) -> DavAccount:
    return DavAccount(bob, await app_password(client, bob))
