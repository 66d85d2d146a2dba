# SPDX-License-Identifier: GPL-2.0
"""Run inside `lava-server manage shell < provision.py` by lab/local/up.sh.

Idempotently creates the admin user (web UI only), the lab's submitting
user and its API token, and the lab's worker (job_limit 1: two TCG QEMUs
never overlap on 2 cores), and keeps their secrets in 0600 files under
$BBML2LAB_CONF_DIR:
  admin-password   the admin's generated password (for the web UI)
  lava.yaml        {uri, username, token}: what lab clients read; the user
                   is LAB_USER, not a superuser and without permissions:
                   LAVA lets any authenticated user submit to unrestricted
                   devices and cancel its own jobs, and read device and
                   worker state, which is all the runner does
  worker-token     lava-worker --token-file
Secrets are never printed: only what was created or kept.
"""
import os
import secrets

import yaml
from django.contrib.auth.models import User
from lava_scheduler_app.models import Worker
from linaro_django_xmlrpc.models import AuthToken

CONF = os.environ["BBML2LAB_CONF_DIR"]
URI = os.environ["BBML2LAB_LAVA_URI"]
WORKER = os.environ["BBML2LAB_WORKER"]
USER = "admin"
LAB_USER = "bbml2-lab"


def write_secret(name, text):
    """Write CONF/name with mode 0600 (created so, never wider), atomically."""
    path = os.path.join(CONF, name)
    tmp = path + ".tmp"
    if os.path.exists(tmp):
        os.unlink(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def read(name):
    try:
        with open(os.path.join(CONF, name)) as f:
            return f.read()
    except FileNotFoundError:
        return None


os.makedirs(CONF, mode=0o700, exist_ok=True)
os.chmod(CONF, 0o700)

password = (read("admin-password") or "").strip()
if not password:
    password = secrets.token_urlsafe(24)
    write_secret("admin-password", password + "\n")
user = User.objects.filter(username=USER).first()
if user is None:
    User.objects.create_superuser(USER, "admin@localhost", password)
    user = User.objects.get(username=USER)
    print("provision: admin user created")
elif not user.check_password(password):
    user.set_password(password)
    user.save()
    print("provision: admin password reset to the stored one")

lab = User.objects.filter(username=LAB_USER).first()
if lab is None:
    lab = User.objects.create_user(LAB_USER, "bbml2-lab@localhost")
    lab.set_unusable_password()            # API token only, no web login
    lab.save()
    print(f"provision: user {LAB_USER} created (not a superuser)")
if lab.is_superuser or lab.is_staff:
    lab.is_superuser = lab.is_staff = False
    lab.save()
    print(f"provision: user {LAB_USER} made an ordinary user")
old = yaml.safe_load(read("lava.yaml") or "{}") or {}
token = old.get("token") if old.get("username") == LAB_USER else None
if not token or not AuthToken.objects.filter(user=lab, secret=token).exists():
    token = AuthToken.objects.create(user=lab, description="bbml2-lab local lab").secret
    print(f"provision: API token of {LAB_USER} created")
if old != {"uri": URI, "username": LAB_USER, "token": token}:
    write_secret("lava.yaml", yaml.safe_dump({"uri": URI, "username": LAB_USER, "token": token}))
# the admin's API tokens of earlier provisions submitted as a superuser: gone
stale = AuthToken.objects.filter(user=user, description="bbml2-lab local lab")
if stale.exists():
    stale.delete()
    print("provision: the admin's old lab API token removed")

worker, created = Worker.objects.get_or_create(hostname=WORKER)
worker.job_limit = 1
worker.description = "bbml2-lab local worker (virtual boards)"
worker.health = Worker.HEALTH_ACTIVE
worker.save()
if (read("worker-token") or "").strip() != worker.token:
    write_secret("worker-token", worker.token + "\n")
print(f"provision: worker {WORKER} {'created' if created else 'kept'} (job_limit 1)")
