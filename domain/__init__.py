"""batchml's domain: models, ports, stage services and the stage graph.

Pure by rule: nothing here touches the network, the filesystem, the environment or a
process. Adapters (in `adapters/`) give it the outside world through the ports in
`domain/ports/`.
"""
