terraform {
  # Nothing here needs a newer language feature than 1.6; older releases are out of support.
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Stay on the 5.x line: 6.x changes region handling and is a deliberate upgrade.
      # 5.40 is the floor where every argument used here (Lambda logging_config, ...) exists.
      version = "~> 5.40"
    }
  }
}
