"""MinIO on a real cluster: the post-install job is admitted under `restricted`, TLS
certificates name every peer the distributed servers dial, and the private CA reaches
the namespaces whose pods talk to the store."""
import pytest

from infra import minio
from nuri.cluster import names
from nuri.k8s.policy import is_protected


def test_post_install_job_groups_carry_restricted_security_contexts(minimal):
    values = minimal.release("minio")["values"]
    pod = values["postJob"]["securityContext"]
    assert pod["enabled"] is True and pod["runAsNonRoot"] is True
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    for group in minio.JOB_GROUPS:  # one per container the hook may run
        assert values[group]["securityContext"]["enabled"] is True, group
        ctx = values[group]["containerSecurityContext"]
        assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"] == {"drop": ["ALL"]}, group
        assert ctx["runAsNonRoot"] is True and ctx["seccompProfile"] == {"type": "RuntimeDefault"}, group


@pytest.mark.parametrize("replicas", [1, 4, 6])
def test_certificate_names_every_server_its_peers_dial(replicas):
    dns = minio.dns_names(replicas)
    assert names.OBJECT_STORE_HOST in dns and "minio" in dns and "minio-service.kubeflow" in dns
    # templates/statefulset.yaml: `https://minio-{0...N-1}.minio-svc.<namespace>.svc/export`
    peers = {f"minio-{i}.minio-svc.nuri-storage.svc" for i in range(replicas)}
    if replicas == 1:
        assert not [d for d in dns if "minio-svc" in d]  # standalone: a Deployment, no peers
    else:
        assert peers <= set(dns)
        assert f"minio-{replicas}.minio-svc.nuri-storage.svc" not in dns
    assert len(dns) == len(set(dns))


def test_distributed_tls_stack_gets_the_peer_names_from_its_own_config(existing_example):
    values = existing_example.release("minio")["values"]
    assert values["fullnameOverride"] == minio.SERVICE and values["mode"] == "distributed"
    certificate = existing_example.one("Certificate", "minio-tls", "nuri-storage")["spec"]
    assert set(certificate["dnsNames"]) == set(minio.dns_names(int(values["replicas"])))
    assert "minio-3.minio-svc.nuri-storage.svc" in certificate["dnsNames"]


def test_servers_trust_the_ca_not_their_own_certificate(existing_example, minimal):
    values = existing_example.release("minio")["values"]
    assert values["trustedCertsSecret"] == "minio-trusted-ca"
    trusted = existing_example.one("Secret", "minio-trusted-ca", "nuri-storage")["stringData"]["value"]
    assert set(trusted) == {"ca.crt"}  # the certificate only: the whole secret is mounted as certs/CAs
    assert "trustedCertsSecret" not in minimal.release("minio")["values"]


def test_the_ca_is_the_programs_and_its_key_stays_secret(existing_example):
    ca_secret = existing_example.one("Secret", "minio-ca", "nuri-storage")
    assert ca_secret["type"] == "kubernetes.io/tls" and is_protected(ca_secret["stringData"])
    issuer = existing_example.one("Issuer", "minio-ca", "nuri-storage")
    assert issuer["spec"] == {"ca": {"secretName": "minio-ca"}}
    assert not [i for i in existing_example.k8s("Issuer", "nuri-storage") if "selfSigned" in i["spec"]]
    cert = [r.inputs for r in existing_example.of_type("tls:index/selfSignedCert:SelfSignedCert")]
    assert len(cert) == 1 and cert[0]["isCaCertificate"] is True
    assert set(cert[0]["allowedUses"]) == {"cert_signing", "crl_signing", "digital_signature"}


def test_the_ca_reaches_every_namespace_that_talks_to_the_store(existing_example, minimal):
    pem = existing_example.one("ConfigMap", "nuri-object-store-ca", "agency-health")["data"]["ca.crt"]
    assert pem.startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE" not in pem
    # KServe copies its own namespace's bundle (key cabundle.crt) to each InferenceService's namespace.
    kserve_ca = existing_example.one("ConfigMap", "nuri-object-store-ca", "kserve")
    assert kserve_ca["data"] == {"cabundle.crt": pem}
    storage = existing_example.release("kserve")["values"]["kserve"]["storage"]
    assert storage["caBundleConfigMapName"] == "nuri-object-store-ca"
    assert "caBundleConfigMapName" not in minimal.release("kserve")["values"]["kserve"]["storage"]
    assert not [c for c in minimal.k8s("ConfigMap") if c["metadata"]["name"] == "nuri-object-store-ca"]
