"""Tests for ddsp_tf.training.cloud and ddsp_tf.training.docker.task."""

import json
import os
import sys
from unittest import mock

import pytest
import tensorflow as tf

from ddsp_tf.training import cloud
from ddsp_tf.training import runner
from ddsp_tf.training.docker import task


# ----------------------------------------------------------------------------
# cloud.
# ----------------------------------------------------------------------------
def test_download_copies_a_file(tmp_path):
  source = tmp_path / 'source.gin'
  source.write_text("batch_size = 4\n")
  target = tmp_path / 'copy.gin'
  target.write_text('old')
  cloud.download_from_gstorage(str(source), str(target))
  assert target.read_text() == 'batch_size = 4\n'


def test_download_failures_say_what_cloud_storage_needs(tmp_path,
                                                         monkeypatch):
  def unreachable(*unused_args, **unused_kwargs):
    raise tf.errors.UnavailableError(None, None, 'no route to host')

  monkeypatch.setattr(tf.io.gfile, 'copy', unreachable)
  with pytest.raises(OSError, match=r'gs://bucket/a\.gin .*no route to host'
                     r'.*network access to Google Cloud Storage'):
    cloud.download_from_gstorage('gs://bucket/a.gin', str(tmp_path / 'a'))
  with pytest.raises(ValueError, match='must name a file'):
    cloud.download_from_gstorage('gs://bucket/dir/', str(tmp_path / 'a'))
  with pytest.raises(OSError, match='missing.gin'):
    monkeypatch.undo()
    cloud.download_from_gstorage(str(tmp_path / 'missing.gin'),
                                 str(tmp_path / 'b'))


def test_make_file_paths_local_downloads_only_gs_paths(tmp_path):
  with mock.patch.object(cloud, 'download_from_gstorage') as download:
    assert cloud.make_file_paths_local('local.gin', str(tmp_path)) == (
        'local.gin')
    download.assert_not_called()
    assert cloud.make_file_paths_local('gs://b/d/one.gin', str(tmp_path)) == (
        'one.gin')
    download.assert_called_once_with('gs://b/d/one.gin',
                                     str(tmp_path / 'one.gin'))
    paths = cloud.make_file_paths_local(
        ['gs://b/first.gin', 'local.gin', 'gs://b/x/second.gin'],
        str(tmp_path))
  assert paths == ['first.gin', 'local.gin', 'second.gin']
  assert [c.args[0] for c in download.call_args_list[1:]] == [
      'gs://b/first.gin', 'gs://b/x/second.gin']


def test_hypertune_reports_through_the_package_or_says_to_install_it():
  reporter = mock.MagicMock()
  module = mock.MagicMock(HyperTune=mock.MagicMock(return_value=reporter))
  with mock.patch.dict(sys.modules, {'hypertune': module}):
    cloud.report_metric_to_hypertune(0.5, 12, tag='total_loss')
  reporter.report_hyperparameter_tuning_metric.assert_called_once_with(
      hyperparameter_metric_tag='total_loss', metric_value=0.5,
      global_step=12)
  with mock.patch.dict(sys.modules, {'hypertune': None}):
    with pytest.raises(ImportError, match=r'pip install "ddsp_tf\[cloud\]"'):
      cloud.report_metric_to_hypertune(0.5, 12)


def test_parse_gin_downloads_gs_gin_files(monkeypatch):
  def fake_download(source, target):
    assert source == 'gs://bucket/configs/steps.gin'
    with open(target, 'w', encoding='utf-8') as gin_file:
      gin_file.write('train.num_steps = 7\n')

  monkeypatch.setattr(cloud, 'download_from_gstorage', fake_download)
  runner.parse_gin('', gin_files=['models/solo_instrument_cpu.gin',
                                  'gs://bucket/configs/steps.gin'])
  import gin  # pylint: disable=import-outside-toplevel
  assert gin.query_parameter('train.num_steps') == 7
  gin.clear_config()


# ----------------------------------------------------------------------------
# docker.task.
# ----------------------------------------------------------------------------
_TWO_JOBS = {'cluster': {'worker': ['worker0:2221'], 'chief': ['chief:2222']}}


@pytest.mark.parametrize('tf_config, expected', [
    (None, ('', 'run/')),
    ({'cluster': {}}, ('', 'run/')),
    ({'task': {}}, ('', 'run/')),
    ({'cluster': {'worker': ['w:1']}, 'task': {'type': 'worker', 'index': 0}},
     ('', 'run/')),
    ({**_TWO_JOBS, 'task': {'type': 'chief', 'index': 0}}, ('TF', 'run/')),
    ({**_TWO_JOBS, 'task': {'type': 'worker', 'index': 0}}, ('TF', '')),
])
def test_worker_behavior_follows_tf_config(monkeypatch, tf_config, expected):
  monkeypatch.delenv('TF_CONFIG', raising=False)
  text = json.dumps(tf_config) if tf_config is not None else None
  if text is not None:
    monkeypatch.setenv('TF_CONFIG', text)
  cluster_config, save_dir = task.get_worker_behavior_info('run/')
  assert (cluster_config, save_dir) == (
      text if expected[0] == 'TF' else '', expected[1])


def test_bad_tf_config_is_named(monkeypatch):
  monkeypatch.setenv('TF_CONFIG', '{cluster')
  with pytest.raises(ValueError, match='TF_CONFIG is not valid JSON'):
    task.get_worker_behavior_info('run/')


def test_task_flags_become_the_run_settings(monkeypatch):
  monkeypatch.setenv('TF_CONFIG', json.dumps(
      {**_TWO_JOBS, 'task': {'type': 'worker', 'index': 0}}))
  args = task.build_parser().parse_args(
      ['--save_dir=gs://b/run', '--file_pattern=data/train*',
       '--batch_size=8', '--gin_file=extra.gin', '--gin_param=a.b=1'])
  settings = task.run_settings(args)
  assert settings.mode == 'train'
  assert settings.restore_dir == 'gs://b/run'
  assert settings.save_dir != 'gs://b/run' and os.path.isdir(settings.save_dir)
  assert json.loads(settings.cluster_config)['task']['type'] == 'worker'
  assert list(settings.gin_files) == ['models/solo_instrument.gin',
                                      'datasets/tfrecord.gin', 'extra.gin']
  assert settings.gin_params[0] == 'batch_size=8'
  assert "TFRecordProvider.file_pattern='data/train*'" in settings.gin_params
  assert settings.gin_params[-1] == 'a.b=1'
  assert task.parse_list_params(['x.gin', 'y.gin'], 'gin_file') == [
      '--gin_file=x.gin', '--gin_file=y.gin']


def test_task_refuses_hypertune_and_missing_flags(capsys):
  assert task.main(['--save_dir=r', '--file_pattern=p', '--hypertune']) == 2
  assert '--hypertune is not supported' in capsys.readouterr().err
  with pytest.raises(SystemExit) as exit_info:
    task.main(['--save_dir=r'])
  assert exit_info.value.code == 2
  assert '--file_pattern' in capsys.readouterr().err
