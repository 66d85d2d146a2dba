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
  health-checks.yaml  {uri, username, token} of HC_USER: no superuser either,
                   only the permission change_devicetype, which LAVA's
                   scheduler.device_types.set_health_check and .update
                   (health checks on/off) need; used by `run.py health-checks`
                   and the nightly (LAB_HEALTH_CHECKS), never for submitting
Secrets are never printed: only what was created or kept.
"""
import os
import secrets

import yaml
from django.contrib.auth.models import Permission, User
from lava_scheduler_app.models import Worker
from linaro_django_xmlrpc.models import AuthToken

CONF = os.environ["BBML2LAB_CONF_DIR"]
URI = os.environ["BBML2LAB_LAVA_URI"]
WORKER = os.environ["BBML2LAB_WORKER"]
USER = "admin"
LAB_USER = "bbml2-lab"
HC_USER = "bbml2-lab-hc"


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

def ordinary_user(name, email):
    """An API-only user that is neither superuser nor staff."""
    u = User.objects.filter(username=name).first()
    if u is None:
        u = User.objects.create_user(name, email)
        u.set_unusable_password()            # API token only, no web login
        u.save()
        print(f"provision: user {name} created (not a superuser)")
    if u.is_superuser or u.is_staff:
        u.is_superuser = u.is_staff = False
        u.save()
        print(f"provision: user {name} made an ordinary user")
    return u


def token_file(u, filename, description):
    """CONF/filename = {uri, username, token} of u, its token kept if valid."""
    old = yaml.safe_load(read(filename) or "{}") or {}
    token = old.get("token") if old.get("username") == u.username else None
    if not token or not AuthToken.objects.filter(user=u, secret=token).exists():
        token = AuthToken.objects.create(user=u, description=description).secret
        print(f"provision: API token of {u.username} created")
    if old != {"uri": URI, "username": u.username, "token": token}:
        write_secret(filename, yaml.safe_dump({"uri": URI, "username": u.username,
                                               "token": token}))


lab = ordinary_user(LAB_USER, "bbml2-lab@localhost")
if lab.user_permissions.exists():
    lab.user_permissions.clear()
    print(f"provision: permissions of {LAB_USER} removed")
token_file(lab, "lava.yaml", "bbml2-lab local lab")
hc = ordinary_user(HC_USER, "bbml2-lab-hc@localhost")
perm = Permission.objects.get(content_type__app_label="lava_scheduler_app",
                              codename="change_devicetype")
if list(hc.user_permissions.all()) != [perm]:
    hc.user_permissions.set([perm])
    print(f"provision: {HC_USER} may change device types (health checks) and nothing else")
token_file(hc, "health-checks.yaml", "bbml2-lab health checks")
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
