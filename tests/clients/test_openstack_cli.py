"""`openstack vim ...` (python-openstackclient + the tackerclient plugin) without Keystone."""

from __future__ import annotations

import uuid

import pytest

LIST_COLUMNS = ["ID", "Name", "Tenant_id", "Type", "Is Default", "Status"]
LONG_COLUMNS = ["ID", "Name", "Tenant_id", "Type", "Is Default", "Placement attribution",
                "Status"]
SHOW_COLUMNS = sorted(["id", "type", "project_id", "name", "description", "placement_attr",
                       "is_default", "created_at", "updated_at", "extra", "auth_url",
                       "vim_project", "auth_cred", "status"])


@pytest.fixture
def tenant(unique):
    return unique("tenant")


@pytest.fixture
def register(openstack, vim_config, unique, tenant):
    """``openstack vim register`` with a config file; deletes what it registered afterwards."""
    registered = []

    def run(kind="openstack", *extra_args, name=None, config=None):
        name = name or unique(f"cli-{kind[:3]}")
        config = config or vim_config(kind)
        vim = openstack.json("vim", "register", name, "--config-file", str(config),
                             "--tenant-id", tenant, *extra_args)
        registered.append(vim["id"])
        return vim

    yield run
    for vim_id in registered:
        result = openstack.run("vim", "delete", vim_id, ok=None)
        assert result.returncode == 0 or "Unable to find vim" in result.stderr, str(result)


def test_register_openstack_vim(register, stubs, tenant):
    vim = register("openstack", "--description", "An OpenStack VIM", "--is-default")
    assert sorted(vim) == SHOW_COLUMNS
    uuid.UUID(vim["id"])
    assert vim["type"] == "openstack"
    assert vim["project_id"] == tenant
    assert vim["description"] == "An OpenStack VIM"
    assert vim["is_default"] is True
    assert vim["status"] == "ACTIVE"
    assert vim["auth_url"] == stubs.keystone_url + "/v3"
    assert vim["placement_attr"] == {"regions": ["RegionOne"]}
    assert vim["vim_project"] == {"name": "nfv", "project_domain_name": "Default"}
    assert vim["auth_cred"]["username"] == "nfv_user"
    assert vim["auth_cred"]["password"] == "***"
    assert vim["auth_cred"]["cert_verify"] == "True"


def test_register_kubernetes_vim(register, stubs, tenant):
    vim = register("kubernetes", "--description", "A Kubernetes VIM")
    assert sorted(vim) == SHOW_COLUMNS
    assert vim["type"] == "kubernetes"
    assert vim["project_id"] == tenant
    assert vim["description"] == "A Kubernetes VIM"
    assert vim["is_default"] is False
    assert vim["auth_url"] == stubs.k8s_url
    assert vim["placement_attr"] == {"regions": ["default", "kube-system"]}
    assert vim["vim_project"] == {"name": "default"}
    assert vim["auth_cred"]["bearer_token"] == "***"
    assert "good-token" not in repr(vim)
    assert vim["status"] == "ACTIVE"


def test_list(openstack, register, tenant):
    os_vim = register("openstack")
    k8s_vim = register("kubernetes")
    rows = {row["ID"]: row for row in openstack.json("vim", "list")}
    assert list(rows[os_vim["id"]]) == LIST_COLUMNS
    assert rows[os_vim["id"]] == {"ID": os_vim["id"], "Name": os_vim["name"], "Tenant_id": tenant,
                                  "Type": "openstack", "Is Default": False, "Status": "ACTIVE"}
    assert rows[k8s_vim["id"]]["Type"] == "kubernetes"


def test_list_long(openstack, register):
    os_vim = register("openstack")
    k8s_vim = register("kubernetes")
    rows = {row["ID"]: row for row in openstack.json("vim", "list", "--long")}
    assert list(rows[os_vim["id"]]) == LONG_COLUMNS
    assert rows[os_vim["id"]]["Placement attribution"] == {"regions": ["RegionOne"]}
    assert rows[k8s_vim["id"]]["Placement attribution"] == {"regions": ["default",
                                                                        "kube-system"]}


def test_list_table(openstack, register):
    vim = register("openstack")
    out = openstack.run("vim", "list").stdout
    header = out.splitlines()[1]
    assert [c.strip() for c in header.strip("|").split("|")] == LIST_COLUMNS
    assert vim["id"] in out and vim["name"] in out


@pytest.mark.parametrize("by", ["name", "id"])
def test_show(openstack, register, by):
    vim = register("openstack")
    shown = openstack.json("vim", "show", vim[by])
    assert sorted(shown) == SHOW_COLUMNS
    assert shown["id"] == vim["id"]
    assert shown["name"] == vim["name"]
    assert shown["auth_cred"]["password"] == "***"
    assert shown["placement_attr"] == {"regions": ["RegionOne"]}


@pytest.mark.parametrize("by", ["name", "id"])
def test_set(openstack, register, unique, by):
    vim = register("openstack")
    new_name = unique("renamed")
    updated = openstack.json("vim", "set", vim[by], "--name", new_name,
                             "--description", "changed", "--is-default", "True")
    assert updated["id"] == vim["id"]
    assert updated["name"] == new_name
    assert updated["description"] == "changed"
    assert updated["is_default"] is True
    assert updated["updated_at"] is not None
    shown = openstack.json("vim", "show", new_name)
    assert (shown["id"], shown["description"], shown["is_default"]) == (vim["id"], "changed", True)


def test_set_from_config_file(openstack, register, vim_config):
    vim = register("openstack")
    config = vim_config("openstack", username="other_user", password="otherPW",
                        project_name="other")
    updated = openstack.json("vim", "set", vim["name"], "--config-file", str(config))
    assert updated["auth_cred"]["username"] == "other_user"
    assert updated["auth_cred"]["password"] == "***"
    assert updated["vim_project"]["name"] == "other"


@pytest.mark.parametrize("by", ["name", "id"])
def test_delete(openstack, vim_config, unique, tenant, by):
    vims = [openstack.json("vim", "register", unique("cli-del"), "--config-file",
                           str(vim_config(kind)), "--tenant-id", tenant)
            for kind in ("openstack", "kubernetes", "openstack")]
    result = openstack.run("vim", "delete", *[v[by] for v in vims])
    assert result.stdout.strip() == "All specified vim(s) deleted successfully"
    listed = {row["ID"] for row in openstack.json("vim", "list")}
    assert listed.isdisjoint(v["id"] for v in vims)


def test_duplicate_name(openstack, register, vim_config, tenant):
    vim = register("openstack")
    result = openstack.run("vim", "register", vim["name"], "--config-file",
                           str(vim_config("openstack")), "--tenant-id", tenant, ok=False)
    assert "vim already exist with given ['tenant_id', 'name', 'deleted_at']" in result.stderr


def test_password_rejected_by_keystone(openstack, vim_config, unique, tenant):
    name = unique("cli-bad")
    result = openstack.run("vim", "register", name, "--config-file",
                           str(vim_config("openstack", password="wrong")),
                           "--tenant-id", tenant, ok=False)
    assert "The request you have made requires authentication." in result.stderr
    assert name not in {row["Name"] for row in openstack.json("vim", "list")}


@pytest.mark.parametrize("command", [["show"], ["set", "--description", "x"], ["delete"]])
def test_vim_that_does_not_exist(openstack, unique, command):
    name = unique("missing")
    result = openstack.run("vim", command[0], name, *command[1:], ok=False)
    assert f"Unable to find vim with name '{name}'" in result.stderr


def test_id_that_does_not_exist(openstack):
    missing = str(uuid.uuid4())
    result = openstack.run("vim", "show", missing, ok=False)
    assert f"Unable to find vim with name '{missing}'" in result.stderr
