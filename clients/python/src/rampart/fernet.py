"""The ``cryptography.fernet.Fernet`` drop-in backed by a named Rampart key:

    from rampart.fernet import RampartFernet, InvalidToken
    fernet = RampartFernet(rampart, "legacy")   # was: Fernet(key)
    token = fernet.encrypt(b"secret")

``AsyncRampartFernet`` is the same over ``AsyncRampart``, every call awaited."""

from cryptography.fernet import InvalidToken

from ._async.fernet import AsyncRampartFernet
from ._sync.fernet import RampartFernet

__all__ = ["AsyncRampartFernet", "InvalidToken", "RampartFernet"]
