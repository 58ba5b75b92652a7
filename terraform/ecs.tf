# No ECS service: tasks are started per run by the state machine (RunTask .sync), one training
# task and one prediction task per batch, so nothing runs (or costs) between runs.

resource "aws_ecs_cluster" "main" {
  name = local.name_prefix

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

# Fargate only: a RunTask that names neither a launch type nor a capacity provider strategy
# still lands on Fargate.
resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_ecs_task_definition" "task" {
  # checkov:skip=CKV_AWS_336: the image runs as a non-root user and needs a writable /tmp (pyarrow, scikit-learn, joblib); Fargate has no tmpfs and its bind-mount volume is root-owned unless the image declares VOLUME /tmp, so read-only root is opt-in through var.readonly_root_filesystem
  for_each = local.tasks

  family                   = each.value.family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(each.value.cpu)
  memory                   = tostring(each.value.memory)
  execution_role_arn       = aws_iam_role.task_execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  dynamic "ephemeral_storage" {
    for_each = var.task_ephemeral_storage_gib == null ? [] : [var.task_ephemeral_storage_gib]
    content {
      size_in_gib = ephemeral_storage.value
    }
  }

  # Scratch space on the task's ephemeral storage, only needed when the root filesystem is read-only.
  dynamic "volume" {
    for_each = var.readonly_root_filesystem ? ["scratch"] : []
    content {
      name = volume.value
    }
  }

  # No command: Step Functions passes `batchml-task --spec s3://... train|predict ...` per run
  # as a container override. No user: the image sets its non-root user.
  container_definitions = jsonencode([
    {
      name       = local.container_name
      image      = local.image_uri
      essential  = true
      privileged = false

      readonlyRootFilesystem = var.readonly_root_filesystem
      mountPoints = var.readonly_root_filesystem ? [
        { sourceVolume = "scratch", containerPath = "/tmp", readOnly = false },
      ] : []

      # An init process reaps the worker processes joblib may fork, so a task exits cleanly.
      linuxParameters = {
        initProcessEnabled = true
      }

      environment = [
        for name, value in merge(local.common_environment, {
          # Events go to stdout as JSON lines; unbuffered so a crashing task still ships them.
          PYTHONUNBUFFERED = "1"
          TMPDIR           = "/tmp"
        }) : { name = name, value = value }
      ]

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.task[each.key].name
          awslogs-region        = local.region
          awslogs-stream-prefix = each.key
        }
      }
    },
  ])
}
