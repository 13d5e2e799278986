"""Managed-cloud mode: an AWS EKS cluster with a CPU system pool and a tainted GPU pool.

Kept minimal and least-privilege: nodes live in private subnets behind one NAT gateway;
the API endpoint is private unless `nuri:eksPublicAccessCidrs` names the operators'
networks (never 0.0.0.0/0); Kubernetes secrets are envelope-encrypted with a KMS key;
IAM roles carry only the AWS-managed policies EKS requires.

A new EKS cluster lacks two things the platform relies on, so they are added here: the
VPC CNI's network-policy agent (without it every tenant NetworkPolicy is ignored), and a
volume provisioner: the EBS CSI driver add-on (its controller alone may use the AWS
managed EBS policy, through IRSA) with an encrypted gp3 default StorageClass, or the
MinIO, MySQL and PostgreSQL volumes stay Pending.
"""
from __future__ import annotations

import ipaddress
import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from .cluster import GPU_POOL_LABEL, GPU_TAINT_KEY, SYSTEM_POOL_LABEL, Autoscaling, Cluster
from .config import PlatformConfig

CLUSTER_POLICIES = ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]
NODE_POLICIES = [
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
]
# EKS-optimised Amazon Linux 2023 with NVIDIA drivers and container toolkit preinstalled.
GPU_AMI_TYPE = "AL2023_x86_64_NVIDIA"
SYSTEM_AMI_TYPE = "AL2023_x86_64_STANDARD"
# The EBS CSI controller's service account (the add-on's own) and the one policy it gets.
EBS_CSI_SERVICE_ACCOUNT = "kube-system:ebs-csi-controller-sa"
EBS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
# The VPC CNI enforces NetworkPolicy only with its network-policy agent on.
VPC_CNI_CONFIGURATION = {"enableNetworkPolicy": "true"}
STORAGE_CLASS = "gp3"


def _assume_role_policy(service: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    })


def _role(name: str, service: str, policies: list[str], opts: pulumi.ResourceOptions) -> aws.iam.Role:
    role = aws.iam.Role(name, assume_role_policy=_assume_role_policy(service), opts=opts)
    for index, arn in enumerate(policies):
        aws.iam.RolePolicyAttachment(f"{name}-{index}", role=role.name, policy_arn=arn, opts=opts)
    return role


def _network(cfg: PlatformConfig, zones: list[str], opts: pulumi.ResourceOptions) -> list[aws.ec2.Subnet]:
    """VPC with public subnets (NAT gateway only) and private subnets for the nodes."""
    vpc = aws.ec2.Vpc("nuri", cidr_block=cfg.eks_vpc_cidr, enable_dns_hostnames=True, enable_dns_support=True,
                      tags={"Name": "nuri"}, opts=opts)
    blocks = list(ipaddress.ip_network(cfg.eks_vpc_cidr).subnets(new_prefix=20))
    igw = aws.ec2.InternetGateway("nuri", vpc_id=vpc.id, opts=opts)
    public_rt = aws.ec2.RouteTable("nuri-public", vpc_id=vpc.id,
                                   routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)], opts=opts)
    public, private = [], []
    for index, zone in enumerate(zones):
        subnet = aws.ec2.Subnet(f"nuri-public-{zone}", vpc_id=vpc.id, availability_zone=zone,
                                cidr_block=str(blocks[index]), map_public_ip_on_launch=False,
                                tags={"kubernetes.io/role/elb": "1"}, opts=opts)
        aws.ec2.RouteTableAssociation(f"nuri-public-{zone}", subnet_id=subnet.id, route_table_id=public_rt.id, opts=opts)
        public.append(subnet)
    nat_ip = aws.ec2.Eip("nuri-nat", domain="vpc", opts=opts)
    nat = aws.ec2.NatGateway("nuri", allocation_id=nat_ip.id, subnet_id=public[0].id, opts=opts)
    private_rt = aws.ec2.RouteTable("nuri-private", vpc_id=vpc.id,
                                    routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)], opts=opts)
    for index, zone in enumerate(zones):
        subnet = aws.ec2.Subnet(f"nuri-private-{zone}", vpc_id=vpc.id, availability_zone=zone,
                                cidr_block=str(blocks[len(zones) + index]),
                                tags={"kubernetes.io/role/internal-elb": "1"}, opts=opts)
        aws.ec2.RouteTableAssociation(f"nuri-private-{zone}", subnet_id=subnet.id, route_table_id=private_rt.id, opts=opts)
        private.append(subnet)
    return private


AUTOSCALER_SERVICE_ACCOUNT = "kube-system:cluster-autoscaler"


def autoscaler_policy(cluster_name: str) -> str:
    """Read what it must; resize or shrink only Auto Scaling groups tagged as this cluster's."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Resource": "*", "Action": [
                "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
                "ec2:DescribeImages", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements", "eks:DescribeNodegroup"]},
            {"Effect": "Allow", "Resource": "*",
             "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
             "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}}},
        ],
    })


def irsa_trust_policy(provider_arn: str, issuer_url: str, service_account: str) -> str:
    """Only this one Kubernetes service account (`namespace:name`) may assume the role."""
    host = issuer_url.removeprefix("https://")
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider_arn}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{host}:sub": f"system:serviceaccount:{service_account}",
                                       f"{host}:aud": "sts.amazonaws.com"}}}]})


def _irsa_role(name: str, service_account: str, oidc: aws.iam.OpenIdConnectProvider, issuer: pulumi.Output[str],
               opts: pulumi.ResourceOptions) -> aws.iam.Role:
    """IAM role for one service account (IRSA), via the cluster's OIDC issuer."""
    trust = pulumi.Output.all(oidc.arn, issuer).apply(lambda args: irsa_trust_policy(args[0], args[1], service_account))
    return aws.iam.Role(name, assume_role_policy=trust, opts=opts)


def _autoscaler_role(cluster: aws.eks.Cluster, oidc: aws.iam.OpenIdConnectProvider, issuer: pulumi.Output[str],
                     opts: pulumi.ResourceOptions) -> aws.iam.Role:
    role = _irsa_role("nuri-cluster-autoscaler", AUTOSCALER_SERVICE_ACCOUNT, oidc, issuer, opts)
    aws.iam.RolePolicy("nuri-cluster-autoscaler", role=role.id, policy=cluster.name.apply(autoscaler_policy), opts=opts)
    return role


def storage_class_spec() -> dict:
    """The default StorageClass: encrypted gp3 EBS (AWS-managed key, which the EBS CSI
    managed policy covers), bound where the pod lands, expandable. Retain: a deleted claim
    leaves the object store's or a database's volume for an operator to remove."""
    return {
        "metadata": {"name": STORAGE_CLASS, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                     "labels": {"app.kubernetes.io/part-of": "nuri"}},
        "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"},
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


def _kubeconfig(cluster: aws.eks.Cluster, region: str) -> pulumi.Output[str]:
    """Kubeconfig that fetches short-lived tokens with the operator's AWS identity."""
    def render(args: list[str]) -> str:
        name, endpoint, ca = args
        return json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": name,
            "clusters": [{"name": name, "cluster": {"server": endpoint, "certificate-authority-data": ca}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "users": [{"name": name, "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
                "args": ["eks", "get-token", "--cluster-name", name, "--region", region]}}}],
        })
    return pulumi.Output.secret(
        pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(render)
    )


def create(cfg: PlatformConfig) -> Cluster:
    aws_provider = aws.Provider("aws", region=cfg.eks_region)
    opts = pulumi.ResourceOptions(provider=aws_provider)
    zones = cfg.eks_availability_zones or [f"{cfg.eks_region}a", f"{cfg.eks_region}b"]
    private_subnets = _network(cfg, zones, opts)

    cluster_role = _role("nuri-eks-cluster", "eks.amazonaws.com", CLUSTER_POLICIES, opts)
    node_role = _role("nuri-eks-node", "ec2.amazonaws.com", NODE_POLICIES, opts)
    secrets_key = aws.kms.Key("nuri-eks-secrets", description="Envelope encryption of Nuri Kubernetes secrets",
                              enable_key_rotation=True, deletion_window_in_days=30, opts=opts)

    public_cidrs = list(cfg.eks_public_access_cidrs)
    cluster = aws.eks.Cluster(
        "nuri",
        version=cfg.eks_kubernetes_version,
        role_arn=cluster_role.arn,
        vpc_config=aws.eks.ClusterVpcConfigArgs(
            subnet_ids=[s.id for s in private_subnets],
            endpoint_private_access=True,
            # Private by default; a public endpoint only for the operators' own networks.
            endpoint_public_access=bool(public_cidrs),
            public_access_cidrs=public_cidrs or None,
        ),
        access_config=aws.eks.ClusterAccessConfigArgs(
            authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True),
        encryption_config=aws.eks.ClusterEncryptionConfigArgs(
            provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key.arn), resources=["secrets"]),
        enabled_cluster_log_types=["api", "audit", "authenticator"],
        opts=opts,
    )

    # Before any node joins: network policy is enforced from the first pod on. (A DaemonSet
    # add-on is ACTIVE without nodes; EKS created the unmanaged aws-node, which it adopts.)
    vpc_cni = aws.eks.Addon("vpc-cni", cluster_name=cluster.name, addon_name="vpc-cni",
                            configuration_values=json.dumps(VPC_CNI_CONFIGURATION),
                            resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE",
                            opts=opts)

    common = dict(cluster_name=cluster.name, node_role_arn=node_role.arn,
                  subnet_ids=[s.id for s in private_subnets], opts=opts)
    # desiredSize belongs to the cluster autoscaler once running; Pulumi sets only the bounds.
    pool_opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
        ignore_changes=["scalingConfig.desiredSize"], depends_on=[vpc_cni]))
    common["opts"] = pool_opts
    system_pool = aws.eks.NodeGroup(
        "system",
        instance_types=[cfg.eks_system_instance_type],
        ami_type=SYSTEM_AMI_TYPE,
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            min_size=cfg.eks_system_min_size, desired_size=cfg.eks_system_min_size, max_size=cfg.eks_system_max_size),
        labels=SYSTEM_POOL_LABEL,
        **common,
    )
    gpu_pool = aws.eks.NodeGroup(
        "gpu",
        instance_types=[cfg.eks_gpu_instance_type],
        ami_type=GPU_AMI_TYPE,
        disk_size=cfg.eks_gpu_disk_size,
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            min_size=cfg.eks_gpu_min_size, desired_size=cfg.eks_gpu_min_size, max_size=cfg.eks_gpu_max_size),
        labels={**GPU_POOL_LABEL, "nvidia.com/gpu.present": "true"},
        # Only pods that tolerate the GPU taint (training, serving) land on GPU nodes.
        taints=[aws.eks.NodeGroupTaintArgs(key=GPU_TAINT_KEY, value="true", effect="NO_SCHEDULE")],
        **common,
    )

    issuer = cluster.identities[0].oidcs[0].issuer
    oidc = aws.iam.OpenIdConnectProvider("nuri-eks", url=issuer, client_id_lists=["sts.amazonaws.com"], opts=opts)
    autoscaler_role = _autoscaler_role(cluster, oidc, issuer, opts)
    ebs_role = _irsa_role("nuri-ebs-csi", EBS_CSI_SERVICE_ACCOUNT, oidc, issuer, opts)
    ebs_policy = aws.iam.RolePolicyAttachment("nuri-ebs-csi", role=ebs_role.name, policy_arn=EBS_CSI_POLICY, opts=opts)
    # Its controller is a Deployment: it becomes ACTIVE once the system pool has nodes.
    ebs_csi = aws.eks.Addon("aws-ebs-csi-driver", cluster_name=cluster.name, addon_name="aws-ebs-csi-driver",
                            service_account_role_arn=ebs_role.arn,
                            resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE",
                            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                                depends_on=[system_pool, ebs_policy])))

    kubeconfig = _kubeconfig(cluster, cfg.eks_region)
    provider = k8s.Provider("cluster", kubeconfig=kubeconfig, enable_server_side_apply=True,
                            opts=pulumi.ResourceOptions(depends_on=[cluster, system_pool, gpu_pool, vpc_cni]))
    sc = storage_class_spec()
    storage_class = k8s.storage.v1.StorageClass(
        STORAGE_CLASS, metadata=sc["metadata"], provisioner=sc["provisioner"], parameters=sc["parameters"],
        reclaim_policy=sc["reclaimPolicy"], volume_binding_mode=sc["volumeBindingMode"],
        allow_volume_expansion=sc["allowVolumeExpansion"],
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[ebs_csi]))
    return Cluster(
        provider=provider,
        kubeconfig=kubeconfig,
        gpu_drivers_preinstalled=True,
        # The control plane's ENIs live in the VPC.
        api_server_cidrs=[cfg.eks_vpc_cidr],
        autoscaling=Autoscaling(cluster_name=cluster.name, region=cfg.eks_region, role_arn=autoscaler_role.arn),
        volume_prerequisites=[ebs_csi, storage_class],
    )
