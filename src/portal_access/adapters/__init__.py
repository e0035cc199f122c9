"""The default adapters: the clock, mailers, password hasher, ids, rate limiter,
background runner, the PDF renderer of documents, and the progress display of long
commands.

:class:`~portal_access.PortalAccess` builds the defaults it needs from here; a host
passes its own (any object with the port's methods, see :mod:`portal_access.ports`)
where these do not fit.

>>> from portal_access.adapters import ScryptPasswordHasher
>>> hasher = ScryptPasswordHasher()
>>> hasher.verify("correct horse", hasher.hash("correct horse"))
True
"""

from portal_access.adapters._background import BackgroundThread
from portal_access.adapters._clock import ManualClock, SystemClock
from portal_access.adapters._mail import ConsoleMailer, MemoryMailer, SentEmail, SmtpMailer, SmtpTls
from portal_access.adapters._passwords import ScryptPasswordHasher
from portal_access.adapters._pdf import FpdfDocumentRenderer
from portal_access.adapters._progress import Progress
from portal_access.adapters._randomness import SecretsTokenSource, SequentialIds
from portal_access.adapters._rate_limit import MemoryRateLimiter

__all__ = [
    "BackgroundThread",
    "ConsoleMailer",
    "FpdfDocumentRenderer",
    "ManualClock",
    "MemoryMailer",
    "MemoryRateLimiter",
    "Progress",
    "ScryptPasswordHasher",
    "SecretsTokenSource",
    "SentEmail",
    "SequentialIds",
    "SmtpMailer",
    "SmtpTls",
    "SystemClock",
]
