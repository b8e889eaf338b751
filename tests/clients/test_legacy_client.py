"""python-tackerclient's legacy Python API (tackerclient.v1_0.client.Client) in noauth mode."""

from __future__ import annotations

import re
import uuid

import pytest
from tackerclient.common import exceptions

VIM_KEYS = ["id", "type", "tenant_id", "name", "description", "placement_attr", "is_default",
            "created_at", "updated_at", "extra", "auth_url", "vim_project", "auth_cred", "status"]
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?$")


def not_found_message(vim_id: str) -> str:
    return f"Specified VIM id {vim_id} is invalid. Please verify and pass a valid VIM id"


@pytest.fixture
def tenant(unique):
    return unique("tenant")


@pytest.fixture
def created(tacker, vim_body, unique, tenant):
    """A registered OpenStack VIM; deleted afterwards if the test left it."""
    vim = tacker.create_vim(vim_body(unique("pyvim"), tenant))["vim"]
    yield vim
    try:
        tacker.delete_vim(vim["id"])
    except exceptions.NotFound:
        pass


def test_create_returns_the_registered_vim(created, stubs, tenant):
    vim = created
    assert list(vim) == VIM_KEYS
    uuid.UUID(vim["id"])
    assert vim["type"] == "openstack"
    assert vim["tenant_id"] == tenant
    assert vim["description"] == ""
    assert vim["placement_attr"] == {"regions": ["RegionOne"]}
    assert vim["is_default"] is False
    assert TIMESTAMP.match(vim["created_at"]), vim["created_at"]
    assert vim["updated_at"] is None
    assert vim["extra"] == {}
    assert vim["auth_url"] == stubs.keystone_url + "/v3"
    assert vim["vim_project"] == {"name": "nfv", "project_domain_name": "Default"}
    assert vim["auth_cred"]["password"] == "***"
    assert vim["auth_cred"]["username"] == "nfv_user"
    assert vim["auth_cred"]["user_domain_name"] == "Default"
    assert "mySecretPW" not in repr(vim)
    assert vim["status"] == "ACTIVE"


def test_create_authenticates_against_keystone(tacker, vim_body, unique, tenant, stubs):
    before = len(stubs.calls("POST", "/identity/v3/auth/tokens"))
    vim = tacker.create_vim(vim_body(unique("pyvim"), tenant))["vim"]
    try:
        assert len(stubs.calls("POST", "/identity/v3/auth/tokens")) > before
        assert stubs.calls("GET", "/identity/v3/regions")
    finally:
        tacker.delete_vim(vim["id"])


def test_list_vims(tacker, created):
    vims = tacker.list_vims()["vims"]
    listed = [v for v in vims if v["id"] == created["id"]]
    assert len(listed) == 1
    assert listed[0]["name"] == created["name"]
    assert listed[0]["tenant_id"] == created["tenant_id"]
    assert listed[0]["status"] == "ACTIVE"
    assert listed[0]["auth_cred"]["password"] == "***"


def test_list_vims_by_name(tacker, created):
    vims = tacker.list_vims(name=created["name"])["vims"]
    assert [v["id"] for v in vims] == [created["id"]]
    assert list(vims[0]) == VIM_KEYS


def test_list_vims_by_unknown_name_is_empty(tacker, unique):
    assert tacker.list_vims(name=unique("missing")) == {"vims": []}


def test_list_vims_with_fields(tacker, created):
    # What `openstack vim show NAME` sends to resolve a name.
    assert tacker.list_vims(name=created["name"], fields="id") == {"vims": [{"id": created["id"]}]}
    assert tacker.list_vims(id=created["id"], fields="id") == {"vims": [{"id": created["id"]}]}
    both = tacker.list_vims(name=created["name"], fields=["id", "name"])["vims"]
    assert both == [{"id": created["id"], "name": created["name"]}]


def test_list_vims_by_tenant(tacker, created, tenant):
    vims = tacker.list_vims(tenant_id=tenant)["vims"]
    assert [v["id"] for v in vims] == [created["id"]]


def test_show_vim(tacker, created):
    vim = tacker.show_vim(created["id"])["vim"]
    assert list(vim) == VIM_KEYS
    for key in VIM_KEYS:
        if key != "created_at":  # create may show microseconds the store does not keep
            assert vim[key] == created[key], key
    assert vim["created_at"].startswith(created["created_at"][:19])


def test_update_vim(tacker, created, unique):
    new_name = unique("renamed")
    vim = tacker.update_vim(created["id"], {"vim": {"name": new_name,
                                                    "description": "updated"}})["vim"]
    assert list(vim) == VIM_KEYS
    assert vim["id"] == created["id"]
    assert vim["name"] == new_name
    assert vim["description"] == "updated"
    assert vim["updated_at"] is not None and TIMESTAMP.match(vim["updated_at"])
    shown = tacker.show_vim(created["id"])["vim"]
    assert (shown["name"], shown["description"]) == (new_name, "updated")


def test_update_vim_credentials(tacker, created):
    vim = tacker.update_vim(created["id"], {"vim": {
        "auth_cred": {"username": "new_nfv_user", "password": "newpassword"},
        "vim_project": {"name": "new_nfv"},
    }})["vim"]
    assert vim["auth_cred"]["username"] == "new_nfv_user"
    assert vim["auth_cred"]["password"] == "***"
    # Deep merge: keys not sent are kept.
    assert vim["auth_cred"]["user_domain_name"] == "Default"
    assert vim["vim_project"] == {"name": "new_nfv", "project_domain_name": "Default"}


def test_delete_vim(tacker, created):
    assert tacker.delete_vim(created["id"]) == ""
    assert tacker.list_vims(id=created["id"], fields="id") == {"vims": []}
    with pytest.raises(exceptions.NotFound) as err:
        tacker.show_vim(created["id"])
    assert str(err.value) == not_found_message(created["id"])


def test_show_missing_vim_is_not_found(tacker):
    missing = str(uuid.uuid4())
    with pytest.raises(exceptions.NotFound) as err:
        tacker.show_vim(missing)
    assert err.value.status_code == 404
    assert str(err.value) == not_found_message(missing)


def test_duplicate_name_is_a_conflict(tacker, created, vim_body):
    with pytest.raises(exceptions.Conflict) as err:
        tacker.create_vim(vim_body(created["name"], created["tenant_id"]))
    assert str(err.value) == "vim already exist with given ['tenant_id', 'name', 'deleted_at']"


def test_rejected_password_is_a_bad_request(tacker, vim_body, unique, tenant):
    body = vim_body(unique("pyvim"), tenant)
    body["vim"]["auth_cred"]["password"] = "wrong"
    with pytest.raises(exceptions.BadRequest) as err:
        tacker.create_vim(body)
    assert "The request you have made requires authentication." in str(err.value)
    assert tacker.list_vims(name=body["vim"]["name"]) == {"vims": []}
