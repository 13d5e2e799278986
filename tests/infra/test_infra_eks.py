"""Managed-cloud mode (AWS EKS): private by default, least-privilege IAM, GPU pool."""
import json

from infra import cluster_eks
from nuri.k8s.policy import is_protected


def _one(rendered, typ, name=None):
    found = [r.inputs for r in rendered.of_type(typ) if name is None or r.name == name]
    assert len(found) == 1, (typ, name, len(found))
    return found[0]


def test_cluster_endpoint_is_private_except_for_the_operators_networks(eks_example):
    vpc = _one(eks_example, "aws:eks/cluster:Cluster")["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == ["203.0.113.0/28"]


def test_without_operator_cidrs_the_endpoint_is_not_public():
    from nuri_infra_mocks import render
    rendered = render({"clusterMode": "eks", "eksRegion": "eu-west-1"}, kubeconfig=None)
    vpc = _one(rendered, "aws:eks/cluster:Cluster")["vpcConfig"]
    assert vpc["endpointPublicAccess"] is False and "publicAccessCidrs" not in vpc
    zones = sorted(r.inputs["availabilityZone"] for r in rendered.of_type("aws:ec2/subnet:Subnet"))
    assert zones == ["eu-west-1a", "eu-west-1a", "eu-west-1b", "eu-west-1b"]


def test_secrets_are_kms_encrypted_and_audit_logs_on(eks_example):
    cluster = _one(eks_example, "aws:eks/cluster:Cluster")
    assert cluster["encryptionConfig"]["resources"] == ["secrets"]
    assert _one(eks_example, "aws:kms/key:Key")["enableKeyRotation"] is True
    assert "audit" in cluster["enabledClusterLogTypes"]
    assert cluster["accessConfig"]["authenticationMode"] == "API"


def test_iam_roles_carry_only_the_managed_policies_eks_needs(eks_example):
    attached = {r.inputs["policyArn"] for r in eks_example.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert attached == set(cluster_eks.CLUSTER_POLICIES) | set(cluster_eks.NODE_POLICIES) | {cluster_eks.EBS_CSI_POLICY}
    trusts = {r.name: json.loads(r.inputs["assumeRolePolicy"])["Statement"][0] for r in eks_example.of_type("aws:iam/role:Role")}
    assert trusts["nuri-eks-cluster"]["Principal"] == {"Service": "eks.amazonaws.com"}
    assert trusts["nuri-eks-node"]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert not eks_example.of_type("aws:iam/policy:Policy")  # no custom, broader managed policies


def test_autoscaler_role_is_for_its_service_account_and_its_cluster_only(eks_example):
    trust = json.loads(next(r.inputs["assumeRolePolicy"] for r in eks_example.of_type("aws:iam/role:Role")
                            if r.name == "nuri-cluster-autoscaler"))["Statement"][0]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"]["StringEquals"]["oidc.eks.mock.example/id/NURI:sub"] == \
        "system:serviceaccount:kube-system:cluster-autoscaler"
    policy = json.loads(eks_example.of_type("aws:iam/rolePolicy:RolePolicy")[0].inputs["policy"])
    mutating = policy["Statement"][1]
    assert mutating["Action"] == ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
    assert mutating["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/nuri": "owned"}}
    assert all(not a.endswith("*") for statement in policy["Statement"] for a in statement["Action"])


def test_cluster_autoscaler_chart_runs_in_eks_mode_only(eks_example, minimal):
    release = eks_example.release("cluster-autoscaler")
    assert (release["chart"], release["version"]) == ("cluster-autoscaler", "9.46.6")
    assert release["values"]["autoDiscovery"] == {"clusterName": "nuri"}
    assert release["values"]["rbac"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:")
    assert "cluster-autoscaler" not in minimal.releases()


def test_nodes_live_in_private_subnets(eks_example):
    subnets = {r.name: r.inputs for r in eks_example.of_type("aws:ec2/subnet:Subnet")}
    assert all(s.get("mapPublicIpOnLaunch") in (None, False) for s in subnets.values())
    for pool in eks_example.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert len(pool.inputs["subnetIds"]) == 2
        assert all(subnet_id.startswith("nuri-private-") for subnet_id in pool.inputs["subnetIds"])


def test_gpu_pool_is_tainted_labelled_and_bounded(eks_example):
    gpu = _one(eks_example, "aws:eks/nodeGroup:NodeGroup", "gpu")
    assert gpu["instanceTypes"] == ["g6e.12xlarge"]
    assert gpu["amiType"] == "AL2023_x86_64_NVIDIA"
    assert gpu["scalingConfig"] == {"minSize": 0, "desiredSize": 0, "maxSize": 6}
    assert gpu["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert gpu["labels"]["nuri.io/pool"] == "gpu"
    system = _one(eks_example, "aws:eks/nodeGroup:NodeGroup", "system")
    assert system["labels"] == {"nuri.io/pool": "system"} and "taints" not in system
    assert system["scalingConfig"] == {"minSize": 2, "desiredSize": 2, "maxSize": 4}


def test_gpu_operator_skips_drivers_the_ami_already_has(eks_example):
    values = eks_example.release("gpu-operator")["values"]
    assert values["driver"]["enabled"] is False and values["toolkit"]["enabled"] is False


def test_kubeconfig_uses_short_lived_tokens_and_is_secret(eks_example):
    kubeconfig = json.loads(eks_example.outputs["kubeconfig"])
    assert kubeconfig["users"][0]["user"]["exec"]["args"][:2] == ["eks", "get-token"]
    assert "token" not in json.dumps(kubeconfig["users"][0]["user"]).replace("get-token", "")
    assert eks_example.secret_outputs == {"kubeconfig"}
    provider = eks_example.of_type("pulumi:providers:kubernetes")[0]
    assert is_protected(provider.inputs["kubeconfig"])


def test_tenants_may_reach_the_api_server_inside_the_vpc_only(eks_example):
    policy = eks_example.one("NetworkPolicy", "allow-kube-api", "agency-health")
    assert policy["spec"]["egress"][0]["to"] == [{"ipBlock": {"cidr": "10.40.0.0/16"}}]


def test_network_policies_are_enforced_by_the_vpc_cni_before_nodes_join(eks_example):
    addon = _one(eks_example, "aws:eks/addon:Addon", "vpc-cni")
    assert addon["addonName"] == "vpc-cni"
    assert json.loads(addon["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert addon["resolveConflictsOnCreate"] == "OVERWRITE"  # adopts the aws-node EKS made


def test_ebs_csi_driver_with_its_own_least_privilege_role(eks_example):
    addon = _one(eks_example, "aws:eks/addon:Addon", "aws-ebs-csi-driver")
    assert addon["addonName"] == "aws-ebs-csi-driver"
    assert addon["serviceAccountRoleArn"].endswith("nuri-ebs-csi")
    roles = {r.name: r.inputs for r in eks_example.of_type("aws:iam/role:Role")}
    trust = json.loads(roles["nuri-ebs-csi"]["assumeRolePolicy"])["Statement"][0]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"]["StringEquals"] == {
        "oidc.eks.mock.example/id/NURI:sub": "system:serviceaccount:kube-system:ebs-csi-controller-sa",
        "oidc.eks.mock.example/id/NURI:aud": "sts.amazonaws.com"}
    ebs = [r.inputs["policyArn"] for r in eks_example.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
           if r.name == "nuri-ebs-csi"]
    assert ebs == ["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]  # its one policy, AWS-managed
    assert len(eks_example.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")) == 1  # shared by both IRSA roles


def test_default_storage_class_is_encrypted_gp3_on_the_ebs_driver(eks_example, minimal):
    (sc,) = eks_example.k8s("StorageClass")
    assert sc["metadata"]["name"] == "gp3"
    assert sc["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert sc["provisioner"] == "ebs.csi.aws.com"
    assert sc["parameters"]["type"] == "gp3" and sc["parameters"]["encrypted"] == "true"
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer" and sc["reclaimPolicy"] == "Retain"
    assert not minimal.k8s("StorageClass")  # existing clusters keep their own default class
