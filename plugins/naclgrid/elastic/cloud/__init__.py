"""Cloud nodes for the elastic pool, through apache-libcloud."""

from naclgrid.elastic.cloud.config import check_cloud_config, make_driver
from naclgrid.elastic.cloud.drivers import TAG_KEY, TAG_NODE, TAG_POOL, adapter_for
from naclgrid.elastic.cloud.provider import CloudProvider
from naclgrid.elastic.cloud.userdata import parse_user_data, render_user_data

__all__ = ["CloudProvider", "TAG_KEY", "TAG_NODE", "TAG_POOL", "adapter_for",
           "check_cloud_config", "make_driver", "parse_user_data", "render_user_data"]
