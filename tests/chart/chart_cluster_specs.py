"""Cluster yaml texts for the chart tests: the seed's (verbatim), a maximal and a minimal one."""

from __future__ import annotations

# The "Edit cluster configuration" block of seed/README_OpenFL_Envoy.md, character for character.
SEED_CLUSTER_YAML = """\
name: envoy-1
namespace: openfl-envoy-1
chartName: openfl-envoy
chartVersion: v0.1.0
registry: ""
pullPolicy: IfNotPresent
podSecurityPolicy:
  enabled: false
modules:
  - envoy

envoy:
  image: fedlcm-openfl
  imageTag: v0.1.0
  directorFqdn: director
  directorIp: 192.168.1.1
  directorPort: 50051
  aggPort: 50052
  envoyConfigs:
    params:
      cuda_devices: []
    optional_plugin_components: {}
    shard_descriptor:
      template: mnist_shard_descriptor.MnistShardDescriptor
      params:
        rank_worldsize: 1, 2
"""

# Every key values-template.yaml maps.
MAX_CLUSTER_YAML = """\
name: envoy-max
namespace: openfl-envoy-max
chartName: openfl-envoy
chartVersion: 0.4.0
registry: registry.example.com:5000/openfl/
pullPolicy: Always
imagePullSecrets:
  - name: registrykeyopenfl
  - second-pull-secret
podSecurityPolicy:
  enabled: false
serviceAccount:
  create: true
  name: envoy-sa
  annotations:
    example.com/owner: federation-a
  automountToken: false
modules:
  - envoy
envoy:
  image: openfl/fedlcm-openfl
  imageTag: 1.5-patched
  directorFqdn: director.federation.example.com
  directorIp: "2001:db8::10"
  directorPort: 30051
  aggPort: 30052
  envoyConfigs:
    params:
      cuda_devices: [0, 1]
      install_requirements: true
      review_experiment: false
    optional_plugin_components:
      cuda_device_monitor:
        template: openfl.plugins.processing_units_monitor.pynvml_monitor.PynvmlCUDADeviceMonitor
        params: {}
    shard_descriptor:
      template: dummy_shard_descriptor.FedLCMDummyShardDescriptor
      params:
        size: 128
  nodeSelector:
    kubernetes.io/os: linux
    example.com/gpu: "true"
  tolerations:
    - key: nvidia.com/gpu
      operator: Exists
      effect: NoSchedule
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions:
              - key: kubernetes.io/arch
                operator: In
                values: [amd64]
  resources:
    requests:
      cpu: 500m
      memory: 1Gi
    limits:
      memory: 4Gi
      nvidia.com/gpu: 1
  podAnnotations:
    checksum/envoy-cert: 3f2a
    checksum/python-configs: 9b1c
  podSecurityContext:
    fsGroup: 2000
  securityContext:
    readOnlyRootFilesystem: false
"""

# Only what KubeFATE and the envoy cannot do without.
MIN_CLUSTER_YAML = """\
name: envoy-min
namespace: openfl-envoy-min
chartName: openfl-envoy
chartVersion: 0.4.0
envoy:
  envoyConfigs:
    shard_descriptor:
      template: dummy_shard_descriptor.FedLCMDummyShardDescriptor
"""
