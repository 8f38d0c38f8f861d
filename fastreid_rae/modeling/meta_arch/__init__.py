from .rae import RAE, check_rae_config
